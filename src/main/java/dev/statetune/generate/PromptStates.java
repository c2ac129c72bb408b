package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prompts of different lengths read into the rows of one decode state, so that decoding can then
 * step them all as one batch. Prompts of one length are read together as a batch (at most
 * MAX_TOKENS tokens at a time); no padding reaches the recurrence. Row p·copies + c holds prompt p,
 * copy c (beam search starts every beam from the prompt).
 *
 * @param state  (prompts·copies rows) the recurrent state after each prompt
 * @param logits per prompt, the logits (vocab) that predict its first new token
 */
record PromptStates(DecodeState state, float[][] logits) {
    /** Tokens one forward reads at most (a batch of prompts of one length is split to stay under it). */
    static final int MAX_TOKENS = 16384;

    static PromptStates read(LanguageModel model, List<int[]> prompts, int copies) {
        DecodeState all = model.newState(prompts.size() * copies);
        float[][] logits = new float[prompts.size()][];
        Map<Integer, List<Integer>> byLength = new TreeMap<>();
        for (int p = 0; p < prompts.size(); p++) {
            if (prompts.get(p).length == 0) throw new IllegalArgumentException("prompt " + p + " is empty");
            byLength.computeIfAbsent(prompts.get(p).length, k -> new ArrayList<>()).add(p);
        }
        for (var group : byLength.entrySet()) {
            int step = Math.max(1, MAX_TOKENS / group.getKey());
            List<Integer> members = group.getValue();
            for (int from = 0; from < members.size(); from += step) {
                List<Integer> batch = members.subList(from, Math.min(members.size(), from + step));
                try (Backend.Scope read = model.backend().openScope()) {   // the batch's tensors go back to the pool once copied
                    DecodeState some = model.newState(batch.size());
                    Tensor last = model.forwardLast(batch.stream().map(prompts::get).toArray(int[][]::new), some);   // (batch, vocab)
                    for (int i = 0; i < batch.size(); i++) {
                        int p = batch.get(i);
                        logits[p] = LanguageModel.row(last, i);
                        for (int c = 0; c < copies; c++) all.copyRow(model.backend(), some, i, p * copies + c);
                    }
                }
            }
        }
        return new PromptStates(all, logits);
    }
}
