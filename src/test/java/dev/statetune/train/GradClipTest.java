package dev.statetune.train;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.peft.Parameter;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** clip_grad_norm_ semantics: one norm over all gradients, scale max/(norm + 1e-6) only above max. */
class GradClipTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static List<Parameter> grads345x12() {
        Parameter a = new Parameter("a", new float[2], true, 2);
        Parameter b = new Parameter("b", new float[1], false, 1);
        a.grad[0] = 3f;
        a.grad[1] = 4f;
        b.grad[0] = 12f; // √(9 + 16 + 144) = 13
        return List.of(a, b);
    }

    @Test
    void normIsOverAllParametersTogether() {
        assertEquals(13.0, GradClip.globalNorm(CPU, grads345x12()), 1e-12);
    }

    @Test
    void clipScalesAboveTheMaximumAndReturnsThePreClipNorm() {
        List<Parameter> ps = grads345x12();
        assertEquals(13.0, GradClip.clip(CPU, ps, 1.0), 1e-12);
        double scale = 1.0 / (13.0 + 1e-6);
        assertEquals(3 * scale, ps.get(0).grad[0], 1e-7);
        assertEquals(4 * scale, ps.get(0).grad[1], 1e-7);
        assertEquals(12 * scale, ps.get(1).grad[0], 1e-7);
        assertEquals(1.0, GradClip.globalNorm(CPU, ps), 1e-6);
    }

    @Test
    void clipLeavesGradientsBelowTheMaximumBitForBit() {
        List<Parameter> ps = grads345x12();
        assertEquals(13.0, GradClip.clip(CPU, ps, 20.0), 1e-12);
        assertArrayEquals(new float[] {3f, 4f}, ps.get(0).grad);
        assertArrayEquals(new float[] {12f}, ps.get(1).grad);
    }

    @Test
    void nonFiniteNormIsReportedAndLeavesGradientsAlone() {
        List<Parameter> ps = grads345x12();
        ps.get(1).grad[0] = Float.NaN;
        assertTrue(Double.isNaN(GradClip.clip(CPU, ps, 1.0)));
        assertEquals(3f, ps.get(0).grad[0]);
    }

    @Test
    void zeroGradClearsTheGradientOnly() {
        Parameter p = new Parameter("p", new float[] {1f, 2f}, true, 2);
        p.grad[1] = 5f;
        p.zeroGrad(CPU);
        assertArrayEquals(new float[] {0f, 0f}, p.grad);
        assertArrayEquals(new float[] {1f, 2f}, p.value);
    }
}
