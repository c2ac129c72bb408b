package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.GradCheck;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Additional-scan: a fresh adapter leaves the model unchanged (C′ = 0), its gradients (B′, C′,
 * A_log′) match central differences, the recurrent step over the wider state equals the forward,
 * and it holds what `params` counts.
 */
class AdditionalScanTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55}, {5, 6, 7, 8, 9, 10, 11}};
    static final int[][] LABELS = {{-100, -100, 7, 88, 912, 3, 55}, {-100, 6, 7, 8, 9, 10, -100}};
    static final MethodOptions OPTIONS = new MethodOptions(8, 8, 0.1, MethodOptions.PAPER_LORA_TARGETS, 16, false, 5);

    @AfterAll
    static void close() { CPU.close(); }

    static Adapter trainedLooking(MambaLM lm) {
        Adapter adapter = Adapter.create(lm, List.of(Method.ADDITIONAL_SCAN), OPTIONS);
        SplittableRandom rnd = new SplittableRandom(6);
        for (Parameter p : adapter.parameters())
            if (p.name.endsWith("extra_C")) for (int i = 0; i < p.value.length; i++) p.value[i] = (float) rnd.nextDouble(-0.3, 0.3);
        return adapter;
    }

    @Test
    void freshAdapterLeavesLogitsBitIdenticalAndCountsAsParams() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            float[] plain = lm.forward(IDS, lm.newState(2)).toFloatArray();
            Adapter adapter = Adapter.create(lm, List.of(Method.ADDITIONAL_SCAN), OPTIONS);
            adapter.attach(lm);
            assertArrayEquals(plain, lm.forward(IDS, lm.newState(2)).toFloatArray());
            assertEquals(Method.ADDITIONAL_SCAN.parameterCount(lm.config(), OPTIONS), adapter.parameterCount());
            assertEquals(3L * (2 * 5 * 192 + 192 * 5), adapter.parameterCount());
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter adapter = trainedLooking(lm);
            adapter.attach(lm);
            lm.loss(IDS, LABELS, true);
            SplittableRandom pick = new SplittableRandom(7);
            for (Parameter p : adapter.parameters())
                for (int trial = 0; trial < 2; trial++) {
                    int i = pick.nextInt(p.value.length);
                    double numeric = GradCheck.centralDifference(lm, p.value, i, 2e-2f, IDS, LABELS);
                    assertEquals(numeric, p.grad[i], 2e-4 + 0.03 * Math.abs(numeric), p.name + "[" + i + "]");
                }
        }
    }

    @Test
    void recurrentStepOverTheWiderStateEqualsTheForward() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            trainedLooking(lm).attach(lm);
            int v = lm.config().vocabSize(), len = IDS[0].length;
            float[] whole = lm.forward(IDS, lm.newState(2)).toFloatArray();
            DecodeState state = lm.newState(2);
            float[] last = null;
            for (int t = 0; t < len; t++) last = lm.step(new int[] {IDS[0][t], IDS[1][t]}, state).toFloatArray();
            float[] expected = new float[v];
            System.arraycopy(whole, (len - 1) * v, expected, 0, v);
            Fixtures.assertClose(expected, java.util.Arrays.copyOf(last, v), 1e-5, 1e-5, "step vs forward");
        }
    }

    @Test
    void doesNotComposeWithStateMethods() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            var e = assertThrows(dev.statetune.StatetuneException.class,
                    () -> Adapter.create(lm, List.of(Method.ADDITIONAL_SCAN, Method.STATE_OFFSET_H), OPTIONS));
            assertTrue(e.getMessage().contains("does not compose"), e.getMessage());
        }
    }
}
