package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;

import java.util.List;

/**
 * Prompts of different lengths read into the rows of one decode state, so that decoding can then
 * step them all as one batch. Each prompt is read on its own (no padding reaches the recurrence);
 * row p·copies + c holds prompt p, copy c (beam search starts every beam from the prompt).
 *
 * @param state  (prompts·copies rows) the recurrent state after each prompt
 * @param logits per prompt, the logits (vocab) that predict its first new token
 */
record PromptStates(DecodeState state, float[][] logits) {
    static PromptStates read(LanguageModel model, List<int[]> prompts, int copies) {
        DecodeState all = model.newState(prompts.size() * copies);
        float[][] logits = new float[prompts.size()][];
        for (int p = 0; p < prompts.size(); p++) {
            int[] prompt = prompts.get(p);
            if (prompt.length == 0) throw new IllegalArgumentException("prompt " + p + " is empty");
            try (Backend.Scope read = model.backend().openScope()) {   // the prompt's tensors go back to the pool once copied
                DecodeState one = model.newState(1);
                logits[p] = LanguageModel.row(model.forwardLast(prompt, one), 0);
                for (int c = 0; c < copies; c++) all.copyRow(model.backend(), one, 0, p * copies + c);
            }
        }
        return new PromptStates(all, logits);
    }
}
