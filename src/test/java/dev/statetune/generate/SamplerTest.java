package dev.statetune.generate;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Temperature, top-k and top-p against distributions whose answers are known. */
class SamplerTest {
    static final float[] LOGITS = {0f, 3f, 1f, 2.5f, -1f};   // order by probability: 1, 3, 2, 0, 4

    @Test
    void temperatureZeroIsArgmax() {
        assertEquals(1, Sampler.greedy().next(LOGITS));
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        for (int seed = 0; seed < 20; seed++) {
            assertEquals(1, new Sampler(1f, 1, 1f, seed).next(LOGITS));
            assertEquals(1, new Sampler(1f, 0, 0.01f, seed).next(LOGITS));
        }
    }

    @Test
    void topKTwoOnlyDrawsTheTwoMostLikely() {
        Sampler s = new Sampler(5f, 2, 1f, 7);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < 2000; i++) counts[s.next(LOGITS)]++;
        assertEquals(2000, counts[1] + counts[3]);
        assertTrue(counts[3] > 700, "at temperature 5 the two are close to even: " + counts[3]);
    }

    @Test
    void frequenciesFollowTheSoftmax() {
        Sampler s = new Sampler(1f, 0, 1f, 3);
        int n = 40_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) counts[s.next(LOGITS)]++;
        double z = 0;
        for (float l : LOGITS) z += Math.exp(l);
        for (int i = 0; i < LOGITS.length; i++) {
            double p = Math.exp(LOGITS[i]) / z;
            assertEquals(p, counts[i] / (double) n, 4 * Math.sqrt(p * (1 - p) / n) + 1e-3, "token " + i);
        }
    }

    @Test
    void sameSeedSameDraws() {
        Sampler a = new Sampler(1f, 0, 0.9f, 11), b = new Sampler(1f, 0, 0.9f, 11);
        for (int i = 0; i < 100; i++) assertEquals(a.next(LOGITS), b.next(LOGITS));
    }
}
