package dev.statetune.data.tasks;

import dev.statetune.SharedData;

import dev.statetune.data.Example;
import dev.statetune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SAMSum and DART on the real files: the first prompts and targets written by hand from the data and
 * PAPER_NOTES, eos appended after the target, DART's one training example per reference, and counts.
 */
class GenerationTasksTest {
    private static final int EOS = 0;

    @Test
    void firstSamsumValidationExample() {
        TaskSplit split = Tasks.byName("samsum").read(SharedData.path("samsum"), "validation", SharedData.neox());
        assertEquals(818, split.examples().size());
        TaskExample ex = split.examples().getFirst();
        assertEquals("A: Hi Tom, are you busy tomorrow\u2019s afternoon?\r\nB: I\u2019m pretty sure I am. What\u2019s up?\r\n"
                + "A: Can you go with me to the animal shelter?.\r\nB: What do you want to do?\r\n"
                + "A: I want to get a puppy for my son.\r\nB: That will make him so happy.\r\n"
                + "A: Yeah, we\u2019ve discussed it many times. I think he\u2019s ready now.\r\n"
                + "B: That\u2019s good. Raising a dog is a tough issue. Like having a baby ;-) \r\n"
                + "A: I'll get him one of those little dogs.\r\nB: One that won't grow up too big;-)\r\n"
                + "A: And eat too much;-))\r\nB: Do you know which one he would like?\r\n"
                + "A: Oh, yes, I took him there last Monday. He showed me one that he really liked.\r\n"
                + "B: I bet you had to drag him away.\r\nA: He wanted to take it home right away ;-).\r\n"
                + "B: I wonder what he'll name it.\r\n"
                + "A: He said he\u2019d name it after his dead hamster \u2013 Lemmy  - he's  a great Motorhead fan :-)))###",
                ex.prompt());
        assertEquals("A will go to the animal shelter tomorrow to get a puppy for her son. They already visited the shelter "
                + "last Monday and the son chose the puppy. ", ex.target());
    }

    @Test
    void samsumMasksThePromptAndAppendsEos() {
        Tokenizer tok = SharedData.neox();
        Task samsum = Tasks.byName("samsum");
        TaskExample ex = samsum.read(SharedData.path("samsum"), "validation", tok).examples().getFirst();
        int[] prompt = tok.encode(ex.prompt()), target = tok.encode(ex.target());
        Example train = samsum.toTrainingExample(ex, tok, EOS);
        assertEquals(prompt.length + target.length + 1, train.length());
        for (int i = 0; i < prompt.length; i++) {
            assertEquals(prompt[i], train.inputIds()[i], "input " + i);
            assertEquals(Example.IGNORE, train.labels()[i], "label " + i);
        }
        for (int i = 0; i < target.length; i++) {
            assertEquals(target[i], train.inputIds()[prompt.length + i], "target input " + i);
            assertEquals(target[i], train.labels()[prompt.length + i], "target label " + i);
        }
        assertEquals(EOS, train.inputIds()[train.length() - 1]);
        assertEquals(EOS, train.labels()[train.length() - 1]);
    }

    @Test
    void firstDartDevTripleSet() {
        TaskExample ex = Tasks.byName("dart").read(SharedData.path("dart"), "dev", SharedData.neox()).examples().getFirst();
        assertEquals("Generate text for the following RDF triples:\n"
                + "Mars Hill College : JOINED : 1973 | Mars Hill College : LOCATION : Mars Hill, North Carolina###", ex.prompt());
        assertEquals("A school from Mars Hill, North Carolina, joined in 1973.", ex.target());
        assertEquals(List.of("A school from Mars Hill, North Carolina, joined in 1973."), ex.references());
    }

    @Test
    void dartEvaluatesPerTripleSetAndTrainsPerReference() {
        Tokenizer tok = SharedData.neox();
        Task dart = Tasks.byName("dart");
        TaskSplit dev = dart.read(SharedData.path("dart"), "dev", tok);
        assertEquals(2_768, dev.examples().size());
        assertEquals(6_980, dev.examples().stream().mapToInt(e -> e.references().size()).sum());

        TaskExample multi = dev.examples().stream().filter(e -> e.references().size() > 1).findFirst().orElseThrow();
        List<Example> train = dart.trainingExamples(new TaskSplit(List.of(multi), 0), tok, EOS);
        assertEquals(multi.references().size(), train.size());
        int promptLength = tok.encode(multi.prompt()).length;
        for (int r = 0; r < train.size(); r++) {
            int[] reference = tok.encode(multi.references().get(r));
            Example ex = train.get(r);
            assertEquals(promptLength + reference.length + 1, ex.length(), "reference " + r);
            assertArrayEquals(reference, Arrays.copyOfRange(ex.labels(), promptLength, ex.length() - 1), "reference " + r);
            assertEquals(EOS, ex.labels()[ex.length() - 1]);
        }
    }
}
