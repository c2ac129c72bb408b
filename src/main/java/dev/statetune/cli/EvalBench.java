package dev.statetune.cli;

import dev.statetune.eval.LabelScoring;
import dev.statetune.generate.BeamSearch;
import dev.statetune.generate.GreedySearch;
import dev.statetune.model.MambaLM;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * `statetune bench --eval`: evaluation throughput on random prompts — GLUE-style teacher-forced
 * examples/s, and generated tokens/s of the paper's beam search (5 beams) and of greedy decoding,
 * both over batches of prompts, prefill included. No eos is reachable, so every prompt decodes
 * the full number of new tokens.
 */
final class EvalBench {
    private EvalBench() {}

    static Map<String, Object> run(MambaLM lm, int examples, int promptTokens, int batch, int prompts, int newTokens) {
        Map<String, Object> r = new LinkedHashMap<>();
        SplittableRandom rnd = new SplittableRandom(4);
        List<int[]> glue = new ArrayList<>();
        for (int i = 0; i < examples; i++) glue.add(rnd.ints(promptTokens, 1, lm.config().vocabSize()).toArray());
        LabelScoring.argmaxAfter(lm, glue.subList(0, batch), batch, 0, done -> {});   // the JIT's warm-up
        long t0 = System.nanoTime();
        LabelScoring.argmaxAfter(lm, glue, batch, 0, done -> {});
        r.put("glue_examples_per_s", examples / seconds(t0));
        List<int[]> gen = new ArrayList<>();
        for (int i = 0; i < prompts; i++) gen.add(rnd.ints(promptTokens, 1, lm.config().vocabSize()).toArray());
        BeamSearch.Options beam = new BeamSearch.Options(5, 1.0, newTokens, -1);
        BeamSearch.search(lm, gen.subList(0, 1), new BeamSearch.Options(5, 1.0, 4, -1));  // warm-up
        long t1 = System.nanoTime();
        BeamSearch.search(lm, gen, beam);
        r.put("beam5_generated_tokens_per_s", (double) prompts * newTokens / seconds(t1));
        long t2 = System.nanoTime();
        GreedySearch.search(lm, gen, newTokens, -1);
        r.put("greedy_generated_tokens_per_s", (double) prompts * newTokens / seconds(t2));
        return r;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
