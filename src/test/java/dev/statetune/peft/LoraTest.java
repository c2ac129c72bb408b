package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.GradCheck;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * LoRA on every target of the mixer (x_proj's dt, B, C parts, dt_proj, in_proj, out_proj):
 * zero B leaves the model unchanged, the gradients of A and B match central differences of the
 * loss, and the paper's recipe has the paper's parameter count.
 */
class LoraTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55}, {5, 6, 7, 8, 9, 10, 11}};
    static final int[][] LABELS = {{-100, -100, 7, 88, 912, 3, 55}, {-100, 6, 7, 8, 9, 10, -100}};
    static final List<String> ALL = List.of("x_proj.dt", "x_proj.B", "x_proj.C", "dt_proj", "in_proj", "out_proj");

    @AfterAll
    static void close() { CPU.close(); }

    static MethodOptions options(double dropout) {
        return new MethodOptions(4, 8, dropout, ALL, 16, false, 8);
    }

    @Test
    void freshLoraLeavesLogitsBitIdentical() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            float[] plain = lm.forward(IDS, lm.newState(2)).toFloatArray();
            Adapter.create(lm, List.of(Method.LORA), options(0.1)).attach(lm);
            assertArrayEquals(plain, lm.forward(IDS, lm.newState(2)).toFloatArray());
        }
    }

    @Test
    void gradientsOfAAndBMatchFiniteDifferences() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter lora = Adapter.create(lm, List.of(Method.LORA), options(0));
            SplittableRandom rnd = new SplittableRandom(3);
            for (Parameter p : lora.parameters())   // B away from zero so that both A's and B's gradients are non-trivial
                if (p.name.contains("lora_B")) for (int i = 0; i < p.value.length; i++) p.value[i] = (float) rnd.nextDouble(-0.3, 0.3);
            lora.attach(lm);
            lm.loss(IDS, LABELS, true);
            SplittableRandom pick = new SplittableRandom(5);
            int checked = 0;
            for (Parameter p : lora.parameters()) {
                if (!p.name.contains("layers.0.") && !p.name.contains("layers.2.")) continue;
                for (int trial = 0; trial < 2; trial++) {
                    int i = pick.nextInt(p.value.length);
                    double numeric = GradCheck.centralDifference(lm, p.value, i, 2e-2f, IDS, LABELS);
                    assertEquals(numeric, p.grad[i], 2e-4 + 0.03 * Math.abs(numeric), p.name + "[" + i + "]");
                    checked++;
                }
            }
            assertEquals(2 * 2 * 2 * ALL.size(), checked);
        }
    }

    /** With dropout the backward draws the forward's masks again (none are kept): its gradients are those of the loss under those draws. */
    @Test
    void gradientsUnderDropoutMatchFiniteDifferencesOfTheSameDraws() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter lora = Adapter.create(lm, List.of(Method.LORA), options(0.3));
            SplittableRandom rnd = new SplittableRandom(4);
            for (Parameter p : lora.parameters())
                if (p.name.contains("lora_B")) for (int i = 0; i < p.value.length; i++) p.value[i] = (float) rnd.nextDouble(-0.3, 0.3);
            lora.attach(lm);
            lm.setDropoutSeed(11);
            lm.loss(IDS, LABELS, true);
            List<float[]> analytic = lora.parameters().stream().map(p -> p.grad.clone()).toList();
            SplittableRandom pick = new SplittableRandom(6);
            int checked = 0;
            for (int k = 0; k < analytic.size(); k++) {
                Parameter p = lora.parameters().get(k);
                if (!p.name.contains("layers.1.")) continue;
                int i = pick.nextInt(p.value.length);
                float keep = p.value[i], eps = 2e-2f;
                p.value[i] = keep + eps;
                double plus = lm.loss(IDS, LABELS, true).meanLoss();   // the same seed: the same draws
                p.value[i] = keep - eps;
                double minus = lm.loss(IDS, LABELS, true).meanLoss();
                p.value[i] = keep;
                double numeric = (plus - minus) / (2 * eps);
                assertEquals(numeric, analytic.get(k)[i], 2e-4 + 0.03 * Math.abs(numeric), p.name + "[" + i + "]");
                checked++;
            }
            assertEquals(2 * ALL.size(), checked);
        }
    }

    @Test
    void dropoutIsFixedByTheSeedAndOffInEvaluation() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter lora = Adapter.create(lm, List.of(Method.LORA), options(0.5));
            for (Parameter p : lora.parameters()) if (p.name.contains("lora_B")) java.util.Arrays.fill(p.value, 0.05f);
            lora.attach(lm);
            lm.setDropoutSeed(1);
            double a = lm.loss(IDS, LABELS, true).meanLoss();
            lm.setDropoutSeed(1);
            double b = lm.loss(IDS, LABELS, true).meanLoss();
            lm.setDropoutSeed(2);
            double c = lm.loss(IDS, LABELS, true).meanLoss();
            double eval1 = lm.loss(IDS, LABELS, false).meanLoss(), eval2 = lm.loss(IDS, LABELS, false).meanLoss();
            assertEquals(a, b);
            assertNotEquals(a, c);
            assertEquals(eval1, eval2);
        }
    }

    @Test
    void mergedEqualsUnmerged() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("merge");
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter adapter = Adapter.create(lm, List.of(Method.LORA, Method.BITFIT), options(0.1));
            SplittableRandom rnd = new SplittableRandom(8);
            for (Parameter p : adapter.parameters())
                for (int i = 0; i < p.value.length; i++) p.value[i] += (float) rnd.nextDouble(-0.05, 0.05);
            adapter.save(dir);
            adapter.attach(lm);
            float[] unmerged = lm.forward(IDS, lm.newState(2)).toFloatArray();
            var r = dev.statetune.cli.CliRunner.run("merge", "--adapter", dir.toString(), "--out", dir.resolve("merged").toString());
            assertEquals(0, r.code(), r.err());
            try (MambaLM merged = new MambaLM(Checkpoint.open(dir.resolve("merged")), CPU)) {
                Fixtures.assertClose(unmerged, merged.forward(IDS, merged.newState(2)).toFloatArray(), 1e-5, 1e-5, "merged vs unmerged");
            }
            Adapter states = Adapter.create(lm, List.of(Method.STATE_OFFSET_H), options(0));
            var e = assertThrows(dev.statetune.StatetuneException.class, () -> states.mergedWeights(lm));
            assertTrue(e.getMessage().contains("cannot be merged"), e.getMessage());
        }
    }
}
