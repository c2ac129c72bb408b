package dev.statetune.train;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.peft.Parameter;
import dev.statetune.StatetuneException;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * AdamW and SGD against steps worked out here from the torch.optim formulas (in double, with the
 * moments spelled out), and a state()/load() round trip that must continue bit for bit.
 */
class OptimizerTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final double B1 = 0.9, B2 = 0.999, EPS = 1e-8;

    /** Three AdamW steps of one scalar, written out as torch.optim.AdamW computes them. */
    private static double[] adamwByHand(double p, double[] grads, double lr, double wd) {
        double m = 0, v = 0;
        double[] after = new double[grads.length];
        for (int t = 1; t <= grads.length; t++) {
            double g = grads[t - 1];
            p = p * (1 - lr * wd);
            m = m + (1 - B1) * (g - m);
            v = B2 * v + (1 - B2) * g * g;
            double bc1 = 1 - Math.pow(B1, t), bc2 = 1 - Math.pow(B2, t);
            p = p - lr / bc1 * m / (Math.sqrt(v) / Math.sqrt(bc2) + EPS);
            after[t - 1] = p;
        }
        return after;
    }

    @Test
    void adamwFirstStepMovesByTheLearningRateTimesTheGradientSign() {
        // Step 1: m̂ = g and v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g), whatever |g|.
        Parameter p = new Parameter("w", new float[] {1f, 1f}, false, 2);
        p.grad[0] = 0.5f;
        p.grad[1] = -3f;
        new AdamW(0).step(CPU, List.of(p), 0.1);
        assertEquals(1 - 0.1 * 0.5 / (0.5 + 1e-8), p.value[0], 1e-7);
        assertEquals(1 + 0.1 * 3 / (3 + 1e-8), p.value[1], 1e-7);
    }

    @Test
    void adamwThreeStepsMatchTorchFormulasWithoutWeightDecay() {
        checkThreeSteps(0.0);
    }

    @Test
    void adamwThreeStepsMatchTorchFormulasWithWeightDecay() {
        checkThreeSteps(0.1);
    }

    private static void checkThreeSteps(double wd) {
        double[] grads = {0.5, -0.25, 1.0};
        double lr = 0.01;
        double[] expected = adamwByHand(2.0, grads, lr, wd);
        Parameter p = new Parameter("w", new float[] {2f}, true, 1);
        AdamW opt = new AdamW(wd);
        for (int t = 0; t < grads.length; t++) {
            p.grad[0] = (float) grads[t];
            opt.step(CPU, List.of(p), lr);
            assertEquals(expected[t], p.value[0], 1e-6, "after step " + (t + 1));
        }
        // Step 2 by hand, as a check on the helper itself: m = 0.9·0.05 + 0.1·(−0.25) = 0.02,
        // v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225.
        double p1 = 2.0 * (1 - lr * wd) - lr * 0.5 / (0.5 + EPS);
        double m2 = 0.02, v2 = 0.00031225;
        double p2 = p1 * (1 - lr * wd) - lr / (1 - 0.81) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.998001) + EPS);
        assertEquals(p2, expected[1], 1e-12);
    }

    @Test
    void adamwDecaysOnlyParametersThatTakeDecay() {
        Parameter decayed = new Parameter("w", new float[] {4f}, true, 1);
        Parameter exempt = new Parameter("offset", new float[] {4f}, false, 1);
        // Zero gradient: Adam's update is 0/(0+ε) = 0, so only the decoupled decay moves p.
        new AdamW(0.5).step(CPU, List.of(decayed, exempt), 0.1);
        assertEquals(4 * (1 - 0.1 * 0.5), decayed.value[0], 1e-7);
        assertEquals(4f, exempt.value[0]);
    }

    @Test
    void sgdTwoStepsWithCoupledWeightDecay() {
        Parameter p = new Parameter("w", new float[] {2f, -1f}, true, 2);
        Sgd opt = new Sgd(0.01);
        p.grad[0] = 0.5f;
        p.grad[1] = 0.25f;
        opt.step(CPU, List.of(p), 0.1);
        assertEquals(2 - 0.1 * (0.5 + 0.01 * 2), p.value[0], 1e-7); // 1.948
        assertEquals(-1 - 0.1 * (0.25 + 0.01 * -1), p.value[1], 1e-7); // -1.024
        opt.step(CPU, List.of(p), 0.1);
        assertEquals(1.948 - 0.1 * (0.5 + 0.01 * 1.948), p.value[0], 1e-6);
        assertEquals(-1.024 - 0.1 * (0.25 + 0.01 * -1.024), p.value[1], 1e-6);
    }

    @Test
    void sgdWithoutDecayIgnoresTheFlag() {
        Parameter p = new Parameter("b", new float[] {1f}, false, 1);
        p.grad[0] = 2f;
        new Sgd(0.5).step(CPU, List.of(p), 0.25);
        assertEquals(0.5f, p.value[0]);
    }

    @Test
    void adamwStateRoundTripContinuesBitForBit() {
        Parameter a = new Parameter("a", new float[] {0.3f, -1.7f, 2.2f}, true, 3);
        Parameter b = new Parameter("b", new float[] {5f}, false, 1);
        AdamW first = new AdamW(0.01);
        for (int t = 0; t < 3; t++) stepWithGradients(first, List.of(a, b), t);

        Parameter a2 = new Parameter("a", a.value.clone(), true, 3);
        Parameter b2 = new Parameter("b", b.value.clone(), false, 1);
        Map<String, Tensor> state = first.state();
        assertEquals(3, state.get("step").getLong(0));
        assertTrue(state.keySet().containsAll(List.of("a.exp_avg", "a.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq")), state.keySet().toString());
        AdamW resumed = new AdamW(0.01);
        resumed.load(state);

        for (int t = 3; t < 6; t++) {
            stepWithGradients(first, List.of(a, b), t);
            stepWithGradients(resumed, List.of(a2, b2), t);
        }
        assertArrayEquals(a.value, a2.value);
        assertArrayEquals(b.value, b2.value);
        assertEquals(first.state().get("a.exp_avg_sq").toFloatArray()[2], resumed.state().get("a.exp_avg_sq").toFloatArray()[2]);
    }

    @Test
    void stateIsACopyNotAView() {
        Parameter a = new Parameter("a", new float[] {1f}, true, 1);
        AdamW opt = new AdamW(0);
        a.grad[0] = 1f;
        opt.step(CPU, List.of(a), 0.1);
        float[] before = opt.state().get("a.exp_avg").toFloatArray();
        opt.step(CPU, List.of(a), 0.1);
        Map<String, Tensor> snapshot = opt.state();
        opt.step(CPU, List.of(a), 0.1);
        assertEquals(0.1f, before[0], 1e-7f);
        assertNotEquals(snapshot.get("a.exp_avg").getFloat(0), opt.state().get("a.exp_avg").getFloat(0));
    }

    @Test
    void loadRejectsAnotherOptimizersState() {
        Parameter a = new Parameter("a", new float[] {1f}, true, 1);
        AdamW adam = new AdamW(0);
        adam.step(CPU, List.of(a), 0.1);
        StatetuneException e = assertThrows(StatetuneException.class, () -> new Sgd(0).load(adam.state()));
        assertTrue(e.getMessage().contains("a.exp_avg"), e.getMessage());
        assertThrows(StatetuneException.class, () -> new AdamW(0).load(Map.of()));
        Sgd sgd = new Sgd(0);
        sgd.step(CPU, List.of(a), 0.1);
        assertThrows(StatetuneException.class, () -> new AdamW(0).load(sgd.state()));
    }

    @Test
    void aParameterWithoutMomentsAfterTheFirstStepIsAnError() {
        Parameter a = new Parameter("a", new float[] {1f}, true, 1);
        Parameter b = new Parameter("b", new float[] {1f}, true, 1);
        AdamW opt = new AdamW(0);
        opt.step(CPU, List.of(a), 0.1);
        StatetuneException e = assertThrows(StatetuneException.class, () -> opt.step(CPU, List.of(a, b), 0.1));
        assertTrue(e.getMessage().contains(" b "), e.getMessage());
    }

    private static void stepWithGradients(Optimizer opt, List<Parameter> params, int t) {
        for (Parameter p : params)
            for (int i = 0; i < p.grad.length; i++) p.grad[i] = (float) Math.sin(1.3 * t + 0.7 * i + p.name.length());
        opt.step(CPU, params, 1e-2);
    }
}
