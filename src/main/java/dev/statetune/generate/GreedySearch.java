package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Greedy decoding of many prompts as one batch over the recurrent state: every step feeds each
 * unfinished prompt's last token; a prompt leaves the batch at eos or after maxNewTokens. The tokens
 * are those of transformers' {@code generate(do_sample=False)} (argmax, first index on ties).
 */
public final class GreedySearch {
    private GreedySearch() {}

    /** The new tokens of each prompt (eos last when it ended on eos). */
    public static List<int[]> search(LanguageModel model, List<int[]> prompts, int maxNewTokens, int eos) {
        PromptStates start = PromptStates.read(model, prompts, 1);
        List<List<Integer>> out = new ArrayList<>();
        List<Integer> active = new ArrayList<>();                  // prompt of each state row
        int[] last = new int[prompts.size()];
        for (int p = 0; p < prompts.size(); p++) {
            out.add(new ArrayList<>());
            last[p] = Sampler.argmax(start.logits()[p]);
        }
        for (int p = 0; p < prompts.size(); p++) active.add(p);
        DecodeState state = start.state();
        try (DecodeSteps steps = new DecodeSteps(model)) {
            return decode(model, steps, state, active, last, out, maxNewTokens, eos);
        }
    }

    private static List<int[]> decode(LanguageModel model, DecodeSteps steps, DecodeState state, List<Integer> active, int[] last,
                                      List<List<Integer>> out, int maxNewTokens, int eos) {
        while (true) {
            List<Integer> kept = new ArrayList<>();
            List<Integer> keptRows = new ArrayList<>();
            for (int r = 0; r < active.size(); r++) {
                int p = active.get(r);
                out.get(p).add(last[p]);
                if (last[p] == eos || out.get(p).size() >= maxNewTokens) continue;
                kept.add(p);
                keptRows.add(r);
            }
            if (kept.isEmpty()) break;
            if (kept.size() < active.size()) state = state.select(model.backend(), keptRows.stream().mapToInt(Integer::intValue).toArray());
            active = kept;
            int[] best;
            try (Backend.Scope step = model.backend().openScope()) {   // the step's tensors go back to the pool at once
                Tensor logits = steps.step(active.stream().mapToInt(p -> last[p]).toArray(), state);   // (rows, vocab)
                best = model.backend().argmaxRows(logits);
            }
            for (int r = 0; r < active.size(); r++) last[active.get(r)] = best[r];
        }
        return out.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toList();
    }
}
