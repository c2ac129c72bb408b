package dev.statetune.cli;

import dev.statetune.generate.GreedySearch;
import dev.statetune.model.LanguageModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * `statetune bench --device cuda` (and `--arch mamba2`): inference speed, measured as the anchor in
 * ../shared/device/README.md is: prefill of one long prompt, and greedy generation (prompt 128,
 * 256 new tokens, prefill included) at batch 1 and batch 64. No eos is reachable.
 */
final class GpuBench {
    private GpuBench() {}

    static Map<String, Object> run(LanguageModel lm, int prefill, int newTokens, int[] batches) {
        Map<String, Object> r = new LinkedHashMap<>();
        SplittableRandom rnd = new SplittableRandom(5);
        int vocab = lm.vocabSize();
        int[][] prompt = {rnd.ints(prefill, 1, vocab).toArray()};
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 4; rep++) {
            long t0 = System.nanoTime();
            lm.forwardLast(prompt, lm.newState(1));
            if (rep > 0) best = Math.min(best, seconds(t0));
        }
        r.put("prefill_tokens", prefill);
        r.put("prefill_tokens_per_s", prefill / best);
        GreedySearch.search(lm, List.of(rnd.ints(128, 1, vocab).toArray()), 8, -1);   // warm-up
        for (int batch : batches) {
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < batch; i++) prompts.add(rnd.ints(128, 1, vocab).toArray());
            long t0 = System.nanoTime();
            GreedySearch.search(lm, prompts, newTokens, -1);
            r.put("generate_batch" + batch + "_tokens_per_s", (double) batch * newTokens / seconds(t0));
        }
        return r;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
