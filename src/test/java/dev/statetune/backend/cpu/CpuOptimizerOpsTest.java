package dev.statetune.backend.cpu;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The optimizer's ops on the CPU split their work into blocks of 65,536 elements: every element once, the same on any pool. */
class CpuOptimizerOpsTest {
    private static final int BLOCK = 1 << 16;

    private static float[] random(int length, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float) rnd.nextDouble(-3, 3);
        return a;
    }

    private static double sumOfSquares(CpuBackend cpu, List<Tensor> ts) {
        Tensor sum = cpu.allocateSums(1);
        cpu.sumOfSquares(ts, sum);
        return sum.getDouble(0);
    }

    @Test
    void sumOfSquaresIsTheSequentialSumOnAnyNumberOfThreads() {
        try (CpuBackend one = new CpuBackend(1); CpuBackend four = new CpuBackend(4)) {
            for (int length : new int[] {0, 1, BLOCK, BLOCK + 1, 5 * BLOCK + 123}) {
                float[] g = random(length, length);
                double expected = 0;
                for (float v : g) expected += (double) v * v;
                List<Tensor> ts = List.of(Tensor.of(g, length), Tensor.of(new float[] {2f}, 1));
                assertEquals(expected + 4, sumOfSquares(one, ts), 1e-12 * Math.max(1, expected), "length " + length);
                assertEquals(sumOfSquares(one, ts), sumOfSquares(four, ts), "the same sum on 1 and 4 threads");
            }
        }
    }

    @Test
    void elementwiseOpsTouchEveryElementOnce() {
        int length = 5 * BLOCK + 123;
        float[] x = random(length, 1), g = random(length, 2), m = random(length, 3), v = random(length, 4);
        for (int i = 0; i < length; i++) v[i] = Math.abs(v[i]);
        float[] x0 = x.clone(), m0 = m.clone(), v0 = v.clone();
        Backend.AdamWStep s = new Backend.AdamWStep(true, 0.1f, 0.999f, 0.001f, 1e-8f, Tensor.of(new float[] {0.99f, 0.01f, 0.5f}, 3));
        try (CpuBackend cpu = new CpuBackend(4)) {
            cpu.adamwStep(Tensor.of(x, length), Tensor.of(g, length), Tensor.of(m, length), Tensor.of(v, length), s);
            for (int i = 0; i < length; i++) {   // once, not twice: a second visit would move every value again
                float mi = m0[i] + 0.1f * (g[i] - m0[i]), vi = v0[i] * 0.999f + 0.001f * g[i] * g[i];
                float xi = x0[i] * 0.99f - 0.01f * (mi / ((float) Math.sqrt(vi) / 0.5f + 1e-8f));
                assertEquals(mi, m[i], "m at " + i);
                assertEquals(vi, v[i], "v at " + i);
                assertEquals(xi, x[i], "x at " + i);
            }
            float[] y = x.clone();
            cpu.scaleInPlace(Tensor.of(y, length), 0.5f);
            for (int i = 0; i < length; i++) assertEquals(x[i] * 0.5f, y[i], "scaled at " + i);
            cpu.zero(Tensor.of(y, length));
            for (int i = 0; i < length; i++) assertEquals(0f, y[i], "zeroed at " + i);
        }
    }
}
