package dev.statetune.backend.cpu;

import dev.statetune.Fixtures;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * The CPU linear and its backward against float64 products, at row counts that take each path of
 * CpuMatmul (1, 5 and 31 rows read in place; 32, 37 and 130 rows packed, with left-over rows and more
 * than one 64-row block) and CpuMatmulAcc (column panels with a partial one, rows shared between
 * items when panels are few), with float32 and bfloat16 weights, x read from a column offset, and an
 * inner size that is no multiple of the vector length.
 */
class CpuLinearTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int K = 45, N = 41, X_COL = 3, X_WIDTH = X_COL + K + 2;

    @AfterAll
    static void close() { CPU.close(); }

    @ParameterizedTest(name = "rows {0}, bf16 {1}")
    @CsvSource({"1, false", "5, true", "31, false", "32, true", "37, true", "130, false", "130, true"})
    void linearAndItsBackwardAreTheProducts(int rows, boolean bf16) {
        SplittableRandom rnd = new SplittableRandom(rows * 7L + (bf16 ? 1 : 0));
        float[] x = random(rnd, rows * X_WIDTH), w = random(rnd, N * K), bias = random(rnd, N), dOut = random(rnd, rows * N);
        if (bf16) for (int i = 0; i < w.length; i++) w[i] = Float.intBitsToFloat(Float.floatToRawIntBits(w[i]) & 0xffff0000);
        Tensor weight = bf16 ? bf16Tensor(w, N, K) : Tensor.of(w.clone(), N, K), xs = Tensor.of(x.clone(), rows, X_WIDTH);

        Tensor out = CPU.allocate(rows, N);
        CPU.linear(xs, X_COL, weight, Tensor.of(bias.clone(), N), out);
        float[] expected = new float[rows * N];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < N; j++) {
                double s = bias[j];
                for (int q = 0; q < K; q++) s += (double) x[r * X_WIDTH + X_COL + q] * w[j * K + q];
                expected[r * N + j] = (float) s;
            }
        Fixtures.assertClose(expected, out.toFloatArray(), 1e-5, 1e-5, "linear");

        Tensor dx = Tensor.zeros(rows, X_WIDTH), dW = Tensor.zeros(N, K);
        CPU.linearBackward(xs, X_COL, weight, Tensor.of(dOut.clone(), rows, N), dx, X_COL, dW, null);
        float[] dxExpected = new float[rows * X_WIDTH], dWExpected = new float[N * K];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < K; q++) {
                double s = 0;
                for (int j = 0; j < N; j++) s += (double) dOut[r * N + j] * w[j * K + q];
                dxExpected[r * X_WIDTH + X_COL + q] = (float) s;
            }
        for (int j = 0; j < N; j++)
            for (int q = 0; q < K; q++) {
                double s = 0;
                for (int r = 0; r < rows; r++) s += (double) dOut[r * N + j] * x[r * X_WIDTH + X_COL + q];
                dWExpected[j * K + q] = (float) s;
            }
        Fixtures.assertClose(dxExpected, dx.toFloatArray(), 1e-5, 1e-5, "dx");
        Fixtures.assertClose(dWExpected, dW.toFloatArray(), 1e-5, 1e-5, "dW");
    }

    private static float[] random(SplittableRandom rnd, int length) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float) rnd.nextDouble(-1, 1);
        return a;
    }

    /** w (rows, cols), whose values are bf16-exact, stored as bf16. */
    private static Tensor bf16Tensor(float[] w, int rows, int cols) {
        short[] bits = new short[w.length];
        for (int i = 0; i < w.length; i++) bits[i] = (short) (Float.floatToRawIntBits(w[i]) >>> 16);
        return new Tensor(MemorySegment.ofArray(bits), DType.BF16, rows, cols);
    }
}
