package dev.statetune.model.mamba2;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.TrainedWeight;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Mamba2LM.loss and its hand-written backward on the transformers-written tiny Mamba-2 (2 groups,
 * chunk 8 < sequence): the loss equals the cross entropy of the forward's logits, and the gradients
 * of every weight kind and of the seams h′, y′, h0 match central differences of the float32 loss
 * (loose: float32; the per-op checks in float64 are the tight ones).
 */
class Mamba2GradientTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55, 61, 2, 17, 301}, {5, 6, 7, 8, 9, 10, 11, 0, 0, 0, 0}};
    static final int[][] LABELS = {{-100, -100, -100, 88, 912, 3, 55, 61, 2, 17, 301}, {-100, -100, 7, 8, 9, 10, 11, 0, -100, -100, -100}};

    @AfterAll
    static void close() { CPU.close(); }

    static Mamba2LM tiny() {
        return tiny(CPU);
    }

    /** The tiny fixture on a backend the caller owns (another test class's backend may be closed already). */
    static Mamba2LM tiny(dev.statetune.backend.Backend backend) {
        return new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny")), backend);
    }

    static Tensor random(SplittableRandom rnd, double scale, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * (rnd.nextDouble() * 2 - 1));
        return Tensor.of(v, shape);
    }

    /** Random h′, y′, h0 on every layer, with zeroed gradient buffers. */
    static Mamba2Seams[] randomSeams(Mamba2Config c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        var s = c.ssd();
        long nh = s.nHeads(), p = s.headDim(), n = s.stateDim();
        Mamba2Seams[] seams = new Mamba2Seams[c.nLayers()];
        for (int i = 0; i < seams.length; i++)
            seams[i] = new Mamba2Seams(random(rnd, 0.3, nh, p, n), random(rnd, 0.3, nh, p), random(rnd, 0.3, nh, p, n),
                    Tensor.zeros(nh, p, n), Tensor.zeros(nh, p), Tensor.zeros(nh, p, n), java.util.List.of());
        return seams;
    }

    /** Every checkpoint weight as a trained fp32 copy with a zeroed gradient (full fine-tuning). */
    static Map<String, TrainedWeight> trainAll(LanguageModel lm) {
        Map<String, TrainedWeight> out = new LinkedHashMap<>();
        for (String name : lm.weightNames()) {
            Tensor t = lm.storedWeight(name);
            out.put(name, new TrainedWeight(Tensor.of(t.toFloatArray(), t.shape()), Tensor.zeros(t.shape())));
        }
        return out;
    }

    @Test
    void lossIsTheCrossEntropyOfTheForwardsLogits() {
        try (Mamba2LM lm = tiny()) {
            float[] logits = lm.forward(IDS, lm.newState(IDS.length)).toFloatArray();
            int v = lm.vocabSize(), len = IDS[0].length, count = 0;
            double sum = 0;
            for (int s = 0; s < IDS.length; s++)
                for (int t = 0; t + 1 < len; t++) {
                    int target = LABELS[s][t + 1];
                    if (target < 0) continue;
                    int at = (s * len + t) * v;
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int c = 0; c < v; c++) max = Math.max(max, logits[at + c]);
                    for (int c = 0; c < v; c++) z += Math.exp(logits[at + c] - max);
                    sum += max + Math.log(z) - logits[at + target];
                    count++;
                }
            assertEquals(sum / count, lm.loss(IDS, LABELS, false).meanLoss(), 1e-5);
        }
    }

    @Test
    void seamAndWeightGradientsMatchFiniteDifferences() {
        try (Mamba2LM lm = tiny()) {
            Mamba2Seams[] seams = randomSeams(lm.config(), 3);
            lm.setSeams(seams);
            Map<String, TrainedWeight> trained = trainAll(lm);
            lm.setTrainedWeights(trained);
            lm.loss(IDS, LABELS, true);
            Map<String, Tensor[]> checked = new LinkedHashMap<>();   // name → {value, gradient}
            for (int layer : new int[] {0, 2}) {
                Mamba2Seams s = seams[layer];
                checked.put(layer + ".h_offset", new Tensor[] {s.hOffset(), s.dhOffset()});
                checked.put(layer + ".y_offset", new Tensor[] {s.yOffset(), s.dyOffset()});
                checked.put(layer + ".h0", new Tensor[] {s.h0(), s.dh0()});
            }
            for (String name : new String[] {"backbone.embeddings.weight", "backbone.norm_f.weight", "backbone.layers.0.norm.weight",
                    "backbone.layers.1.mixer.in_proj.weight", "backbone.layers.1.mixer.conv1d.weight", "backbone.layers.1.mixer.dt_bias",
                    "backbone.layers.1.mixer.A_log", "backbone.layers.1.mixer.D", "backbone.layers.1.mixer.norm.weight",
                    "backbone.layers.2.mixer.out_proj.weight"})
                checked.put(name, new Tensor[] {trained.get(name).value(), trained.get(name).grad()});
            SplittableRandom pick = new SplittableRandom(9);
            for (var e : checked.entrySet()) {
                Tensor value = e.getValue()[0], grad = e.getValue()[1];
                double worst = 0;
                for (int trial = 0; trial < 6; trial++) {
                    int i = largeGradientIndex(grad, pick);
                    float keep = value.getFloat(i), eps = 1e-2f * Math.max(1f, Math.abs(keep));
                    value.data().setAtIndex(Tensor.F32, i, keep + eps);
                    double plus = lm.loss(IDS, LABELS, false).meanLoss();
                    value.data().setAtIndex(Tensor.F32, i, keep - eps);
                    double minus = lm.loss(IDS, LABELS, false).meanLoss();
                    value.data().setAtIndex(Tensor.F32, i, keep);
                    double numeric = (plus - minus) / (2 * eps), analytic = grad.getFloat(i);
                    worst = Math.max(worst, Math.abs(numeric - analytic));
                    assertEquals(numeric, analytic, 2e-4 + 0.03 * Math.abs(numeric), e.getKey() + "[" + i + "]");
                }
                System.out.printf("mamba2 %-40s max |analytic − numeric| = %.2e (float32 differences)%n", e.getKey(), worst);
            }
        }
    }

    /** A random index among those whose gradient is at least a tenth of the largest (so the check is not of zeros). */
    static int largeGradientIndex(Tensor grad, SplittableRandom rnd) {
        float[] g = grad.toFloatArray();
        float max = 0;
        for (float x : g) max = Math.max(max, Math.abs(x));
        while (true) {
            int i = rnd.nextInt(g.length);
            if (Math.abs(g[i]) >= 0.1f * max) return i;
        }
    }
}
