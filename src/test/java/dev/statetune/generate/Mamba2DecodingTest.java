package dev.statetune.generate;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.mamba2.Mamba2LM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Greedy and beam search on the Mamba-2 tiny fixture through the LanguageModel interface: prompts of
 * different lengths decoded as one batch give what each prompt gives when stepped alone.
 */
class Mamba2DecodingTest {
    static final CpuBackend BACKEND = new CpuBackend(2);
    static final List<int[]> PROMPTS = List.of(new int[] {3, 141, 59, 26, 535}, new int[] {89, 79}, new int[] {323, 846, 17, 4, 9, 44, 5},
            new int[] {7});
    static Mamba2LM lm;

    @BeforeAll
    static void open() {
        lm = new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny")), BACKEND);
    }

    @AfterAll
    static void close() {
        lm.close();
        BACKEND.close();
    }

    /** Argmax decoding of one prompt by a plain loop: its forward, then one step per token. */
    static int[] greedyAlone(LanguageModel model, int[] prompt, int maxNew, int eos) {
        DecodeState state = model.newState(1);
        float[] logits = LanguageModel.row(model.forward(new int[][] {prompt}, state), prompt.length - 1);
        int[] out = new int[maxNew];
        int n = 0;
        while (n < maxNew) {
            out[n++] = Sampler.argmax(logits);
            if (out[n - 1] == eos) break;
            logits = LanguageModel.row(model.step(new int[] {out[n - 1]}, state), 0);
        }
        return Arrays.copyOf(out, n);
    }

    @Test
    void batchedGreedyEqualsEachPromptSteppedAlone() {
        for (int eos : new int[] {0, 5}) {
            List<int[]> got = GreedySearch.search(lm, PROMPTS, 12, eos);
            for (int p = 0; p < PROMPTS.size(); p++)
                assertArrayEquals(greedyAlone(lm, PROMPTS.get(p), 12, eos), got.get(p), "prompt " + p + ", eos " + eos);
        }
    }

    @Test
    void oneBeamIsGreedy() {
        for (int p = 0; p < PROMPTS.size(); p++)
            assertArrayEquals(greedyAlone(lm, PROMPTS.get(p), 9, -1),
                    BeamSearch.search(lm, List.of(PROMPTS.get(p)), new BeamSearch.Options(1, 1, 9, -1)).getFirst().tokens(), "prompt " + p);
    }

    @Test
    void beamSearchOfManyPromptsAsOneBatchEqualsEachAloneAndScoresItsTokens() {
        BeamSearch.Options o = new BeamSearch.Options(4, 1, 10, 5);
        List<BeamSearch.Hypothesis> batch = BeamSearch.search(lm, PROMPTS, o);
        for (int p = 0; p < PROMPTS.size(); p++) {
            BeamSearch.Hypothesis alone = BeamSearch.search(lm, List.of(PROMPTS.get(p)), o).getFirst();
            assertArrayEquals(alone.tokens(), batch.get(p).tokens(), "prompt " + p);
            assertEquals(alone.score(), batch.get(p).score(), 1e-5, "prompt " + p);
            // the score is the hypothesis' summed log-probability / its length, as a whole-sequence forward computes it
            int[] prompt = PROMPTS.get(p), tokens = alone.tokens(), all = Arrays.copyOf(prompt, prompt.length + tokens.length);
            System.arraycopy(tokens, 0, all, prompt.length, tokens.length);
            float[] logits = lm.forward(new int[][] {all}, lm.newState(1)).toFloatArray();
            double sum = 0;
            for (int t = 0; t < tokens.length; t++) sum += logSoftmax(logits, (prompt.length - 1 + t) * lm.vocabSize(), lm.vocabSize(), tokens[t]);
            assertEquals(sum / tokens.length, alone.score(), 1e-4, "prompt " + p + " score");
        }
    }

    @Test
    void lastLogitsOfAPaddedBatchEqualEachPromptAlone() {
        int len = PROMPTS.stream().mapToInt(p -> p.length).max().orElseThrow();
        int[][] ids = new int[PROMPTS.size()][len];
        int[] lengths = new int[PROMPTS.size()];
        for (int p = 0; p < ids.length; p++) {
            System.arraycopy(PROMPTS.get(p), 0, ids[p], 0, PROMPTS.get(p).length);
            lengths[p] = PROMPTS.get(p).length;
        }
        var last = lm.lastLogits(ids, lengths);
        for (int p = 0; p < ids.length; p++)
            Fixtures.assertClose(LanguageModel.row(lm.forwardLast(new int[][] {PROMPTS.get(p)}, lm.newState(1)), 0), LanguageModel.row(last, p),
                    1e-5, 1e-5, "prompt " + p);
    }

    static double logSoftmax(float[] logits, int from, int n, int token) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[from + i]);
        for (int i = 0; i < n; i++) sum += Math.exp(logits[from + i] - max);
        return logits[from + token] - max - Math.log(sum);
    }
}
