package dev.statetune.eval;

import dev.statetune.generate.Sampler;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.Tensor;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Teacher-forced label scoring, as the paper scores GLUE: the model reads the prompt and its argmax
 * over the whole vocabulary at the label position is the prediction. Prompts run in batches of
 * similar length, right-padded (the padding comes after the scored position, so it changes nothing).
 */
public final class LabelScoring {
    private LabelScoring() {}

    /**
     * The argmax token after each prompt, in order; onBatch gets the number of prompts scored so far.
     *
     * @param pad the id written into padding positions (any valid id)
     */
    public static int[] argmaxAfter(LanguageModel model, List<int[]> prompts, int batchSize, int pad, IntConsumer onBatch) {
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> -prompts.get(i).length));   // longest first: padding stays small
        int[] predicted = new int[prompts.size()];
        for (int from = 0; from < order.length; from += batchSize) {
            int to = Math.min(order.length, from + batchSize), len = prompts.get(order[from]).length;
            int[][] ids = new int[to - from][len];   // (b, len) right-padded
            int[] lengths = new int[to - from];
            for (int s = 0; s < ids.length; s++) {
                int[] prompt = prompts.get(order[from + s]);
                Arrays.fill(ids[s], pad);
                System.arraycopy(prompt, 0, ids[s], 0, prompt.length);
                lengths[s] = prompt.length;
            }
            Tensor logits = model.lastLogits(ids, lengths);   // (b, vocab)
            for (int s = 0; s < ids.length; s++) predicted[order[from + s]] = Sampler.argmax(LanguageModel.row(logits, s));
            onBatch.accept(to);
        }
        return predicted;
    }
}
