package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;

import dev.statetune.data.Example;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A fine-tuning task of the State-offset Tuning paper (GLUE, SAMSum, DART, Spider) in the formats of
 * PAPER_NOTES "Data formats": prompt and target tokenized separately and concatenated, no BOS, loss
 * on the target only, eos after the target of generation tasks. {@link Tasks#byName} finds one.
 */
public sealed interface Task permits GlueTask, SamsumTask, DartTask, SpiderTask {
    /** The registry name, e.g. "glue/rte". */
    String name();

    /** The split names {@link #read} accepts, e.g. "train", "dev". */
    List<String> splits();

    /**
     * Reads a split from the task's own directory (e.g. .../glue/RTE, .../spider), one example per
     * evaluation item. The tokenizer measures lengths where the task has a limit (Spider; the others
     * accept null).
     *
     * @throws dev.statetune.StatetuneException naming the file (and line) when it is missing or malformed
     */
    TaskSplit read(Path dir, String split, Tokenizer tok);

    /** Generation tasks end their target with eos so decoding learns to stop; GLUE scores one token. */
    boolean appendsEos();

    /** Fails with one line unless this task has the split. */
    default void requireSplit(String split) {
        if (!splits().contains(split))
            throw new StatetuneException(name() + " has no split \"" + split + "\" (splits: " + String.join(", ", splits()) + ")");
    }

    /** The prompt's tokens then the target's (then eos), labels -100 on the prompt. */
    default Example toTrainingExample(TaskExample ex, Tokenizer tok, int eos) {
        int[] prompt = tok.encode(ex.prompt()), target = tok.encode(ex.target());
        int n = prompt.length + target.length + (appendsEos() ? 1 : 0);
        int[] ids = Arrays.copyOf(prompt, n), labels = new int[n];
        System.arraycopy(target, 0, ids, prompt.length, target.length);
        Arrays.fill(labels, 0, prompt.length, Example.IGNORE);
        System.arraycopy(target, 0, labels, prompt.length, target.length);
        if (appendsEos()) ids[n - 1] = labels[n - 1] = eos;
        return new Example(ids, labels);
    }

    /** Training examples of a split: one per reference (DART trains on each reference separately). */
    default List<Example> trainingExamples(TaskSplit split, Tokenizer tok, int eos) {
        List<Example> out = new ArrayList<>(split.examples().size());
        for (TaskExample ex : split.examples())
            for (String reference : ex.references()) out.add(toTrainingExample(ex.withTarget(reference), tok, eos));
        return out;
    }
}
