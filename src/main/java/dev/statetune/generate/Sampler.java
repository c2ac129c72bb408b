package dev.statetune.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a logits row, as transformers' logits warpers do in this order:
 * temperature, top-k, top-p (nucleus). Temperature 0 is greedy (argmax, first index on ties).
 */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    public Sampler(float temperature, int topK, float topP, long seed) {
        if (temperature < 0) throw new IllegalArgumentException("temperature must be ≥ 0");
        if (topP <= 0 || topP > 1) throw new IllegalArgumentException("top-p must be in (0, 1]");
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public static Sampler greedy() {
        return new Sampler(0, 0, 1, 0);
    }

    public int next(float[] logits) {
        if (temperature == 0) return argmax(logits);
        int v = logits.length;
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = topK > 0 ? Math.min(topK, v) : v;
        double max = logits[order[0]] / temperature;
        double[] p = new double[keep];
        double total = 0;
        for (int i = 0; i < keep; i++) total += p[i] = Math.exp(logits[order[i]] / temperature - max);
        // nucleus: the smallest prefix whose mass reaches topP (always at least one token)
        double cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++) {
            cumulative += p[i] / total;
            if (cumulative >= topP) { nucleus = i + 1; break; }
        }
        double mass = 0;
        for (int i = 0; i < nucleus; i++) mass += p[i];
        double u = random.nextDouble() * mass;
        for (int i = 0; i < nucleus; i++) {
            u -= p[i];
            if (u <= 0) return order[i];
        }
        return order[nucleus - 1];
    }

    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
