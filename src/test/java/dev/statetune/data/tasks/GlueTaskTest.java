package dev.statetune.data.tasks;

import dev.statetune.SharedData;

import dev.statetune.data.Example;
import dev.statetune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * GLUE prompts pinned by hand from the real TSV files and PAPER_NOTES (RTE's instruction verbatim),
 * label digits, the -100 mask over exactly the prompt with no eos, split sizes, class tokens, and the
 * layouts of the tasks whose files we do not have (QQP, STS-B, MNLI, QNLI, WNLI) on one-row files.
 */
class GlueTaskTest {
    private static final int EOS = 0;
    @TempDir Path tmp;

    private static TaskSplit read(String task, String folder, String split) {
        return Tasks.byName(task).read(SharedData.path("glue/" + folder), split, SharedData.neox());
    }

    @Test
    void firstRteDevExample() {
        TaskExample ex = read("glue/rte", "RTE", "dev").examples().getFirst();
        assertEquals("Determine if the given pair of sentences displays entailment or not_entailment. Respond with '0' if "
                + "entailment or '1' if not_entailment: Dana Reeve, the widow of the actor Christopher Reeve, has died of "
                + "lung cancer at age 44, according to the Christopher Reeve Foundation.###Christopher Reeve had an accident.###",
                ex.prompt());
        assertEquals("1", ex.target()); // not_entailment
        assertEquals(1, ex.label());
        assertEquals("0", read("glue/rte", "RTE", "dev").examples().get(1).target()); // entailment
    }

    @Test
    void firstColaDevExampleIsOneSentence() {
        TaskExample ex = read("glue/cola", "CoLA", "dev").examples().getFirst();
        assertEquals("Review the sentence below and identify whether its grammar is Unacceptable or Acceptable. Respond with "
                + "'0' if Unacceptable or '1' if Acceptable: The sailors rode the breeze clear of the rocks.###", ex.prompt());
        assertEquals("1", ex.target());
        // dev.tsv line 5, "cj99 0 * As you eat the most, ...": the original "*" mark is not part of the sentence
        TaskExample bad = read("glue/cola", "CoLA", "dev").examples().get(4);
        assertTrue(bad.prompt().endsWith("Acceptable: As you eat the most, you want the least.###"), bad.prompt());
        assertEquals("0", bad.target());
    }

    @Test
    void mrpcSkipsItsBomHeaderAndKeepsBareQuotes() {
        List<TaskExample> dev = read("glue/mrpc", "MRPC", "dev").examples();
        assertEquals("Can the given sentences be considered semantically identical? Respond with '0' if not_equivalent or "
                + "'1' if equivalent: He said the foodservice pie business doesn 't fit the company 's long-term growth "
                + "strategy .###\" The foodservice pie business does not fit our long-term growth strategy .###",
                dev.getFirst().prompt());
        assertEquals("1", dev.getFirst().target());
        assertEquals("0", dev.get(1).target());
    }

    @Test
    void sst2KeepsTheSentenceVerbatim() {
        TaskExample ex = read("glue/sst2", "SST-2", "dev").examples().getFirst();
        assertTrue(ex.prompt().endsWith("to describe its sentiment. Respond with '0' if negative or '1' if positive: "
                + "it 's a charming and often affecting journey . ###"), ex.prompt());
        assertEquals("1", ex.target());
    }

    @Test
    void splitSizes() {
        assertEquals(8_551, read("glue/cola", "CoLA", "train").examples().size());
        assertEquals(1_043, read("glue/cola", "CoLA", "dev").examples().size());
        assertEquals(67_349, read("glue/sst2", "SST-2", "train").examples().size());
        assertEquals(872, read("glue/sst2", "SST-2", "dev").examples().size());
        // GLUE's MRPC train has 3,668 pairs (2,474 paraphrases); this copy has a header and 3,667 well-formed
        // rows, 2,473 of them paraphrases, so one positive pair is missing from the file itself.
        assertEquals(3_667, read("glue/mrpc", "MRPC", "train").examples().size());
        assertEquals(408, read("glue/mrpc", "MRPC", "dev").examples().size());
        assertEquals(2_490, read("glue/rte", "RTE", "train").examples().size());
        assertEquals(277, read("glue/rte", "RTE", "dev").examples().size());
    }

    @Test
    void promptIsMaskedAndNoEosFollowsTheLabel() {
        Tokenizer tok = SharedData.neox();
        Task rte = Tasks.byName("glue/rte");
        TaskExample ex = rte.read(SharedData.path("glue/RTE"), "dev", tok).examples().getFirst();
        int[] prompt = tok.encode(ex.prompt());
        int one = tok.tokenId("1").orElseThrow();
        Example train = rte.toTrainingExample(ex, tok, EOS);
        assertEquals(prompt.length + 1, train.length(), "prompt + one label token, no eos");
        for (int i = 0; i < prompt.length; i++) {
            assertEquals(prompt[i], train.inputIds()[i], "input " + i);
            assertEquals(Example.IGNORE, train.labels()[i], "label " + i);
        }
        assertEquals(one, train.inputIds()[prompt.length]);
        assertEquals(one, train.labels()[prompt.length]);
    }

    @Test
    void allOfSst2TrainTokenizes() {
        Tokenizer tok = SharedData.neox();
        Task sst2 = Tasks.byName("glue/sst2");
        List<Example> train = sst2.trainingExamples(sst2.read(SharedData.path("glue/SST-2"), "train", tok), tok, EOS);
        assertEquals(67_349, train.size());
        int[] classes = GlueTask.SST2.classTokenIds(tok);
        for (Example ex : train) {
            int last = ex.length() - 1;
            assertTrue(ex.labels()[last] == classes[0] || ex.labels()[last] == classes[1]);
            assertEquals(Example.IGNORE, ex.labels()[last - 1]);
        }
    }

    @Test
    void classTokensAreTheDigits() {
        Tokenizer tok = SharedData.neox();
        assertArrayEquals(new int[] {tok.tokenId("0").orElseThrow(), tok.tokenId("1").orElseThrow(), tok.tokenId("2").orElseThrow()},
                GlueTask.MNLI.classTokenIds(tok));
        assertEquals(2, GlueTask.RTE.classTokenIds(tok).length);
        assertEquals(6, GlueTask.STSB.classTokenIds(tok).length);
        assertEquals(List.of("entailment", "not_entailment"), GlueTask.RTE.labelNames());
        assertEquals(List.of("not_entailment", "entailment"), GlueTask.WNLI.labelNames());
    }

    private Path file(String name, String... lines) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    private List<TaskExample> readTmp(String task, String split) {
        return Tasks.byName(task).read(tmp, split, null).examples();
    }

    @Test
    void qqpLayout() throws IOException {
        file("dev.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
                "7\t15\t16\tHow do I read?\tHow can I read?\t1");
        TaskExample ex = readTmp("glue/qqp", "dev").getFirst();
        assertEquals("Can these two statements be considered equal in meaning? Respond with '0' if not_equivalent or '1' "
                + "if equivalent: How do I read?###How can I read?###", ex.prompt());
        assertEquals("1", ex.target());
    }

    @Test
    void qnliLayoutHasNamedLabels() throws IOException {
        file("train.tsv", "index\tquestion\tsentence\tlabel",
                "0\tWhen?\tIn 1990.\tentailment",
                "1\tWho?\tNobody knows.\tnot_entailment");
        List<TaskExample> ex = readTmp("glue/qnli", "train");
        assertTrue(ex.getFirst().prompt().endsWith("from the context. Respond with '0' if entailment or '1' if "
                + "not_entailment: When?###In 1990.###"), ex.getFirst().prompt());
        assertEquals(List.of("0", "1"), ex.stream().map(TaskExample::target).toList());
    }

    @Test
    void wnliLabelOneIsEntailment() throws IOException {
        file("dev.tsv", "index\tsentence1\tsentence2\tlabel", "0\tA saw B.\tB was seen.\t1");
        TaskExample ex = readTmp("glue/wnli", "dev").getFirst();
        assertTrue(ex.prompt().endsWith("Respond with '0' if not_entailment or '1' if entailment: A saw B.###B was seen.###"));
        assertEquals(1, ex.label());
    }

    @Test
    void mnliReadsGoldLabelFromBothDevLayouts() throws IOException {
        String parses = "\t( a )\t( b )\t(ROOT a)\t(ROOT b)\t";
        file("dev_matched.tsv",
                "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse"
                        + "\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label",
                "0\t1\t1n\tfiction" + parses + "It rained.\tThe ground is wet.\tneutral\tneutral\tentailment\tneutral\tneutral\tneutral");
        file("dev_mismatched.tsv",
                "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse"
                        + "\tsentence1\tsentence2\tlabel1\tgold_label",
                "0\t2\t2c\tletters" + parses + "It rained.\tIt was dry.\tcontradiction\tcontradiction");
        TaskExample matched = readTmp("glue/mnli", "dev_matched").getFirst();
        assertEquals("Assess the connection between the following sentences and classify it as entailment, neutral, or "
                + "contradiction. Respond with '0' if entailment, '1' if neutral or '2' if contradiction: "
                + "It rained.###The ground is wet.###", matched.prompt());
        assertEquals("1", matched.target());
        assertEquals("2", readTmp("glue/mnli", "dev_mismatched").getFirst().target());
        assertEquals(List.of("train", "dev_matched", "dev_mismatched"), Tasks.byName("glue/mnli").splits());
    }

    @Test
    void stsbRoundsTheScoreHalfUpAndKeepsIt() throws IOException {
        String header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore";
        file("dev.tsv", header,
                "0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\tA man plays.\tA man is playing.\t2.500",
                "1\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA cat.\tA dog.\t0.400",
                "2\tmain-captions\tMSRvid\t2012test\t0002\tnone\tnone\tYes.\tYes.\t5.000");
        List<TaskExample> ex = readTmp("glue/stsb", "dev");
        assertEquals(List.of("3", "0", "5"), ex.stream().map(TaskExample::target).toList());
        assertEquals(List.of(2.5, 0.4, 5.0), ex.stream().map(TaskExample::score).toList());
        assertTrue(ex.getFirst().prompt().endsWith(": A man plays.###A man is playing.###"), ex.getFirst().prompt());
    }
}
