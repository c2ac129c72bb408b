package dev.statetune.model;

import dev.statetune.StatetuneException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import dev.statetune.tensor.Tensor;

/**
 * The published state-spaces Mamba-1 sizes (d_model, n_layer; vocab 50280, d_state 16, expand 2,
 * d_conv 4), and random weights of those shapes for benchmarks that need no checkpoint.
 */
public final class ModelShapes {
    private ModelShapes() {}

    public static final Map<String, int[]> SIZES = Map.of(
            "130m", new int[] {768, 24}, "370m", new int[] {1024, 48}, "790m", new int[] {1536, 48},
            "1.4b", new int[] {2048, 48}, "2.8b", new int[] {2560, 64});

    public static MambaConfig config(String size) {
        int[] s = SIZES.get(size);
        if (s == null) throw new StatetuneException("unknown model size '" + size + "' (known: 130m, 370m, 790m, 1.4b, 2.8b)");
        return new MambaConfig(s[0], s[1], 50280, 16, 2 * s[0], 4, (s[0] + 15) / 16, false, true, 1e-5f, true, 0);
    }

    /** Random float32 weights under Hugging Face names, initialised roughly as transformers does. */
    public static Map<String, Tensor> randomWeights(MambaConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = c.modelDim(), di = c.innerDim(), n = c.stateDim(), r = c.dtRank();
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("backbone.embeddings.weight", uniform(rnd, 0.02f, c.vocabSize(), d));
        for (int i = 0; i < c.nLayers(); i++) {
            String m = "backbone.layers." + i + ".mixer.";
            w.put("backbone.layers." + i + ".norm.weight", constant(1f, d));
            w.put(m + "in_proj.weight", uniform(rnd, (float) (1 / Math.sqrt(d)), 2L * di, d));
            w.put(m + "conv1d.weight", uniform(rnd, 0.5f, di, 1, c.convWidth()));
            w.put(m + "conv1d.bias", uniform(rnd, 0.1f, di));
            w.put(m + "x_proj.weight", uniform(rnd, (float) (1 / Math.sqrt(di)), r + 2L * n, di));
            w.put(m + "dt_proj.weight", uniform(rnd, (float) (1 / Math.sqrt(r)), di, r));
            w.put(m + "dt_proj.bias", Tensor.of(dtBias(rnd, di), di));
            float[] aLog = new float[di * n];
            for (int j = 0; j < aLog.length; j++) aLog[j] = (float) Math.log(1 + j % n);
            w.put(m + "A_log", Tensor.of(aLog, di, n));
            w.put(m + "D", constant(1f, di));
            w.put(m + "out_proj.weight", uniform(rnd, (float) (1 / Math.sqrt(di)), d, di));
        }
        w.put("backbone.norm_f.weight", constant(1f, d));
        return w;
    }

    /** softplus⁻¹ of dt drawn log-uniformly in [0.001, 0.1], as the Mamba init does. */
    public static float[] dtBias(SplittableRandom rnd, int n) {
        float[] bias = new float[n];
        for (int j = 0; j < n; j++) {
            double dt = Math.exp(rnd.nextDouble(Math.log(0.001), Math.log(0.1)));
            bias[j] = (float) (dt + Math.log(-Math.expm1(-dt)));
        }
        return bias;
    }

    public static Tensor uniform(SplittableRandom rnd, float scale, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextDouble(-scale, scale);
        return Tensor.of(v, shape);
    }

    public static Tensor constant(float value, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        java.util.Arrays.fill(v, value);
        return Tensor.of(v, shape);
    }
}
