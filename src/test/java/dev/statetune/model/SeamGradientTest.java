package dev.statetune.model;

import dev.statetune.Fixtures;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.peft.Parameter;

import java.util.List;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The model's loss and its backward through every layer into the PEFT seams (h′, y′, h0, conv
 * state), on the transformers-written tiny model: gradients against central differences of the
 * float32 loss (loose: float32; the per-op checks in float64 are the tight ones), zero seams
 * leave the logits bit-identical, and the recurrent step honours the seams as the forward does.
 */
class SeamGradientTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55, 61, 2}, {5, 6, 7, 8, 9, 10, 11, 0, 0}};
    static final int[][] LABELS = {{-100, -100, -100, 88, 912, 3, 55, 61, 2}, {-100, -100, 7, 8, 9, 10, 11, 0, -100}};

    @AfterAll
    static void close() { CPU.close(); }

    static Tensor random(SplittableRandom rnd, double scale, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * (rnd.nextDouble() * 2 - 1));
        return Tensor.of(v, shape);
    }

    static Seams[] randomSeams(MambaConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Seams[] s = new Seams[c.nLayers()];
        int di = c.innerDim(), n = c.stateDim(), k = c.convWidth();
        for (int i = 0; i < s.length; i++)
            s[i] = new Seams(random(rnd, 0.5, di, n), random(rnd, 0.5, di), random(rnd, 0.5, di, n), random(rnd, 0.5, di, k - 1),
                    Tensor.zeros(di, n), Tensor.zeros(di), Tensor.zeros(di, n), Tensor.zeros(di, k - 1));
        return s;
    }

    @Test
    void seamGradientsMatchFiniteDifferences() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Seams[] seams = randomSeams(lm.config(), 3);
            lm.setSeams(seams);
            lm.loss(IDS, LABELS, true);
            SplittableRandom pick = new SplittableRandom(9);
            for (int layer : new int[] {0, 2}) {
                Seams s = seams[layer];
                Tensor[][] pairs = {{s.hOffset(), s.dhOffset()}, {s.yOffset(), s.dyOffset()}, {s.h0(), s.dh0()}, {s.conv0(), s.dconv0()}};
                String[] names = {"h_offset", "y_offset", "h0", "conv_state0"};
                for (int p = 0; p < pairs.length; p++) {
                    double worst = 0;
                    for (int trial = 0; trial < 6; trial++) {
                        int i = pick.nextInt((int) pairs[p][0].numel());
                        float keep = pairs[p][0].getFloat(i), eps = 2e-2f;
                        pairs[p][0].data().setAtIndex(Tensor.F32, i, keep + eps);
                        double plus = lm.loss(IDS, LABELS, false).meanLoss();
                        pairs[p][0].data().setAtIndex(Tensor.F32, i, keep - eps);
                        double minus = lm.loss(IDS, LABELS, false).meanLoss();
                        pairs[p][0].data().setAtIndex(Tensor.F32, i, keep);
                        double numeric = (plus - minus) / (2 * eps), analytic = pairs[p][1].getFloat(i);
                        worst = Math.max(worst, Math.abs(numeric - analytic));
                        assertEquals(numeric, analytic, 2e-4 + 0.03 * Math.abs(numeric), "layer " + layer + " " + names[p] + "[" + i + "]");
                    }
                    System.out.printf("layer %d %-12s max |analytic − numeric| = %.2e (float32 differences)%n", layer, names[p], worst);
                }
            }
        }
    }

    /** The fixture's random seams, with zeroed gradient buffers. */
    static Seams[] fixtureSeams(SafeTensors ref, MambaConfig c) {
        Seams[] seams = new Seams[c.nLayers()];
        String[] names = {"h_offset", "y_offset", "h0", "conv_state0"};
        for (int i = 0; i < seams.length; i++) {
            Tensor[] v = new Tensor[4], g = new Tensor[4];
            for (int p = 0; p < 4; p++) {
                Tensor t = ref.get("backbone.layers." + i + ".mixer." + names[p]);
                v[p] = Tensor.of(t.toFloatArray(), t.shape());
                g[p] = Tensor.zeros(t.shape());
            }
            seams[i] = new Seams(v[0], v[1], v[2], v[3], g[0], g[1], g[2], g[3]);
        }
        return seams;
    }

    @Test
    void everyWeightGradientMatchesPyTorchAutograd() {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/seams.reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter full = Adapter.create(lm, List.of(Method.FULL), MethodOptions.defaults());
            full.attach(lm);
            lm.setSeams(fixtureSeams(ref, lm.config()));
            int[][] ids = Fixtures.ids(ref.get("input_ids")), labels = Fixtures.ids(ref.get("labels"));
            assertEquals(ref.get("loss").getFloat(0), lm.loss(ids, labels, true).meanLoss(), 2e-5);
            double worst = 0;
            for (Parameter p : full.parameters()) {
                float[] expected = ref.get("grad." + p.name).toFloatArray();
                worst = Math.max(worst, Fixtures.maxAbsDiff(expected, p.grad));
                Fixtures.assertClose(expected, p.grad, 2e-5, 2e-3, "grad of " + p.name);
            }
            System.out.printf("full fine-tuning: %d weight gradients, max |diff| vs PyTorch %.2e%n", full.parameters().size(), worst);
        }
    }

    @Test
    void lossAndSeamGradientsMatchPyTorchAutograd() {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/seams.reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            MambaConfig c = lm.config();
            Seams[] seams = fixtureSeams(ref, c);
            String[] names = {"h_offset", "y_offset", "h0", "conv_state0"};
            lm.setSeams(seams);
            int[][] ids = Fixtures.ids(ref.get("input_ids")), labels = Fixtures.ids(ref.get("labels"));
            LossResult r = lm.loss(ids, labels, true);
            System.out.printf("loss %.6f, PyTorch %.6f%n", r.meanLoss(), ref.get("loss").getFloat(0));
            assertEquals(ref.get("loss").getFloat(0), r.meanLoss(), 2e-5);
            Tensor[][] grads = new Tensor[seams.length][];
            for (int i = 0; i < seams.length; i++) grads[i] = new Tensor[] {seams[i].dhOffset(), seams[i].dyOffset(), seams[i].dh0(), seams[i].dconv0()};
            for (int i = 0; i < seams.length; i++)
                for (int p = 0; p < 4; p++) {
                    String key = "backbone.layers." + i + ".mixer." + names[p];
                    float[] expected = ref.get("grad." + key).toFloatArray(), actual = grads[i][p].toFloatArray();
                    System.out.printf("%-36s max |grad diff| vs PyTorch = %.2e%n", key, Fixtures.maxAbsDiff(expected, actual));
                    Fixtures.assertClose(expected, actual, 2e-5, 1e-3, "grad of " + key);
                }
        }
    }

    @Test
    void zeroSeamsLeaveLogitsBitIdentical() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            float[] plain = lm.forward(IDS, lm.newState(2)).toFloatArray();
            MambaConfig c = lm.config();
            Seams[] zero = new Seams[c.nLayers()];
            for (int i = 0; i < zero.length; i++)
                zero[i] = new Seams(Tensor.zeros(c.innerDim(), c.stateDim()), Tensor.zeros(c.innerDim()), Tensor.zeros(c.innerDim(), c.stateDim()),
                        Tensor.zeros(c.innerDim(), c.convWidth() - 1), null, null, null, null);
            lm.setSeams(zero);
            assertArrayEquals(plain, lm.forward(IDS, lm.newState(2)).toFloatArray());
        }
    }

    @Test
    void lossEqualsTheForwardsLogitsAndStepsHonourTheSeams() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            lm.setSeams(randomSeams(lm.config(), 4));
            int v = lm.config().vocabSize();
            float[] logits = lm.forward(IDS, lm.newState(2)).toFloatArray();
            double sum = 0;
            int count = 0;
            for (int s = 0; s < 2; s++)
                for (int t = 0; t + 1 < IDS[s].length; t++) {
                    int target = LABELS[s][t + 1];
                    if (target < 0) continue;
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int j = 0; j < v; j++) max = Math.max(max, logits[(s * IDS[s].length + t) * v + j]);
                    for (int j = 0; j < v; j++) z += Math.exp(logits[(s * IDS[s].length + t) * v + j] - max);
                    sum += Math.log(z) + max - logits[(s * IDS[s].length + t) * v + target];
                    count++;
                }
            LossResult r = lm.loss(IDS, LABELS, false);
            assertEquals(count, r.targets());
            assertEquals(sum / count, r.meanLoss(), 1e-5);
            DecodeState state = lm.newState(2);
            float[] stepped = null;
            for (int t = 0; t < IDS[0].length; t++) stepped = lm.step(new int[] {IDS[0][t], IDS[1][t]}, state).toFloatArray();
            int last = IDS[0].length - 1;
            float[] lastWhole = new float[v];
            System.arraycopy(logits, last * v, lastWhole, 0, v);
            float[] lastStepped = java.util.Arrays.copyOf(stepped, v);
            Fixtures.assertClose(lastWhole, lastStepped, 1e-5, 1e-5, "step vs forward with seams");
        }
    }
}
