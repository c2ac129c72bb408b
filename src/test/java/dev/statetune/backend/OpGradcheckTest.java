package dev.statetune.backend;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Every backward op of the CPU backend (but the scan, see ScanGradcheckTest) against central
 * differences of a float64 loop written from the op's definition, on L = Σ out·G. Sizes are odd so
 * that vector tails and partial register tiles are exercised.
 */
class OpGradcheckTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final SplittableRandom RND = new SplittableRandom(5);

    @AfterAll
    static void close() { CPU.close(); }

    static double[] random(int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = scale * (RND.nextDouble() * 2 - 1);
        return v;
    }

    static Tensor f32(double[] v, long... shape) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.of(f, shape);
    }

    /** ∂L/∂v by central differences of a float64 loss. */
    static float[] numeric(double[] v, ToDoubleFunction<double[]> loss) {
        float[] g = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            double keep = v[i], eps = 1e-6 * Math.max(1, Math.abs(keep));
            v[i] = keep + eps;
            double plus = loss.applyAsDouble(v);
            v[i] = keep - eps;
            double minus = loss.applyAsDouble(v);
            v[i] = keep;
            g[i] = (float) ((plus - minus) / (2 * eps));
        }
        return g;
    }

    static void check(String what, float[] numeric, Tensor analytic) {
        Fixtures.assertClose(numeric, analytic.toFloatArray(), 1e-4, 2e-3, what);
    }

    @Test
    void linear() {
        int rows = 7, k = 37, n = 45, xCol = 3, xWidth = 41;   // x read from columns [3, 40) of a wider matrix
        double[] x = random(rows * xWidth, 1), w = random(n * k, 0.3), bias = random(n, 0.5), G = random(rows * n, 1);
        ToDoubleFunction<double[]> loss = ignored -> {
            double s = 0;
            for (int t = 0; t < rows; t++)
                for (int j = 0; j < n; j++) {
                    double o = bias[j];
                    for (int q = 0; q < k; q++) o += x[t * xWidth + xCol + q] * w[j * k + q];
                    s += o * G[t * n + j];
                }
            return s;
        };
        Tensor dx = Tensor.zeros(rows, xWidth), dW = Tensor.zeros(n, k), dB = Tensor.zeros(n);
        CPU.linearBackward(f32(x, rows, xWidth), xCol, f32(w, n, k), f32(G, rows, n), dx, xCol, dW, dB);
        check("linear dx", numeric(x, loss), dx);
        check("linear dW", numeric(w, loss), dW);
        check("linear dBias", numeric(bias, loss), dB);
    }

    @Test
    void linearWithBf16WeightsPassesTheGradientThroughTheStoredValues() {
        int rows = 5, k = 40, n = 36;
        double[] w = random(n * k, 0.3), G = random(rows * n, 1);
        short[] bf = new short[w.length];
        for (int i = 0; i < w.length; i++) {
            bf[i] = (short) (Float.floatToRawIntBits((float) w[i]) >>> 16);
            w[i] = Float.intBitsToFloat((bf[i] & 0xffff) << 16);
        }
        Tensor dxBf = Tensor.zeros(rows, k), dxF = Tensor.zeros(rows, k);
        CPU.linearBackward(Tensor.zeros(rows, k), 0, new Tensor(MemorySegment.ofArray(bf), DType.BF16, n, k), f32(G, rows, n), dxBf, 0, null, null);
        CPU.linearBackward(Tensor.zeros(rows, k), 0, f32(w, n, k), f32(G, rows, n), dxF, 0, null, null);
        Fixtures.assertClose(dxF.toFloatArray(), dxBf.toFloatArray(), 1e-6, 1e-6, "bf16 vs widened f32 weights");
    }

    @Test
    void rmsNorm() {
        int rows = 4, d = 21;
        float eps = 1e-5f;
        double[] x = random(rows * d, 1), w = random(d, 1), G = random(rows * d, 1);
        ToDoubleFunction<double[]> loss = ignored -> {
            double s = 0;
            for (int t = 0; t < rows; t++) {
                double sq = 0;
                for (int c = 0; c < d; c++) sq += x[t * d + c] * x[t * d + c];
                double r = 1 / Math.sqrt(sq / d + eps);
                for (int c = 0; c < d; c++) s += w[c] * x[t * d + c] * r * G[t * d + c];
            }
            return s;
        };
        Tensor dx = Tensor.zeros(rows, d), dw = Tensor.zeros(d);
        CPU.rmsNormBackward(f32(x, rows, d), f32(w, d), eps, f32(G, rows, d), dx, dw);
        check("rmsNorm dx", numeric(x, loss), dx);
        check("rmsNorm dWeight", numeric(w, loss), dw);
    }

    @Test
    void causalConv1dSilu() {
        int batch = 2, len = 5, inner = 19, k = 4, inCol = 3, stride = 2 * inner + inCol;   // x: columns inCol… of a wider input
        double[] in = random(batch * len * stride, 1), w = random(inner * k, 0.5), b = random(inner, 0.2);
        double[] s0 = random(batch * inner * (k - 1), 1), G = random(batch * len * inner, 1);
        ToDoubleFunction<double[]> loss = ignored -> {
            double s = 0;
            for (int q = 0; q < batch; q++)
                for (int c = 0; c < inner; c++)
                    for (int t = 0; t < len; t++) {
                        double u = b[c];
                        for (int j = 0; j < k; j++) {
                            int pos = t - (k - 1) + j;
                            u += w[c * k + j] * (pos < 0 ? s0[(q * inner + c) * (k - 1) + (k - 1 + pos)] : in[(q * len + pos) * stride + inCol + c]);
                        }
                        s += u / (1 + Math.exp(-u)) * G[(q * len + t) * inner + c];
                    }
            return s;
        };
        Tensor dIn = Tensor.zeros(batch * len, stride), dW = Tensor.zeros(inner, 1, k), dB = Tensor.zeros(inner), dS0 = Tensor.zeros(batch, inner, k - 1);
        CPU.causalConv1dSiluBackward(f32(in, batch * len, stride), inCol, batch, len, f32(w, inner, 1, k), f32(b, inner),
                f32(s0, batch, inner, k - 1), f32(G, batch * len, inner), dIn, dW, dB, dS0);
        check("conv dIn", numeric(in, loss), dIn);
        check("conv dWeight", numeric(w, loss), dW);
        check("conv dBias", numeric(b, loss), dB);
        check("conv dState0", numeric(s0, loss), dS0);
    }

    @Test
    void crossEntropyOnlyOnTargetsAndItsGradients() {
        int rows = 70, d = 17, vocab = 40;   // more rows than one chunk of the fused head
        double[] h = random(rows * d, 1), w = random(vocab * d, 0.7);
        int[] targets = new int[rows];
        for (int t = 0; t < rows; t++) targets[t] = t % 3 == 0 ? -100 : RND.nextInt(vocab);
        int count = (int) java.util.Arrays.stream(targets).filter(t -> t >= 0).count();
        ToDoubleFunction<double[]> loss = ignored -> {
            double s = 0;
            for (int t = 0; t < rows; t++) {
                if (targets[t] < 0) continue;
                double[] logits = new double[vocab];
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int v = 0; v < vocab; v++) {
                    for (int c = 0; c < d; c++) logits[v] += h[t * d + c] * w[v * d + c];
                    max = Math.max(max, logits[v]);
                }
                for (int v = 0; v < vocab; v++) z += Math.exp(logits[v] - max);
                s += Math.log(z) + max - logits[targets[t]];
            }
            return s / count;
        };
        Tensor dh = Tensor.zeros(rows, d), dw = Tensor.zeros(vocab, d);
        Tensor sums = CPU.allocateSums(LossResult.SUMS);
        CPU.crossEntropy(f32(h, rows, d), f32(w, vocab, d), targets, dh, dw, sums);
        LossResult r = LossResult.of(sums);
        org.junit.jupiter.api.Assertions.assertEquals(count, r.targets());
        org.junit.jupiter.api.Assertions.assertEquals(loss.applyAsDouble(h), r.meanLoss(), 1e-5);
        org.junit.jupiter.api.Assertions.assertEquals(r.meanLoss(), sums.getDouble(3), 1e-12, "the call's mean loss");
        check("cross-entropy dHidden", numeric(h, loss), dh);
        check("cross-entropy dW", numeric(w, loss), dw);
    }

    @Test
    void embeddingScatterAdds() {
        Tensor dTable = Tensor.zeros(5, 3);
        CPU.embeddingBackward(new int[] {2, 4, 2}, Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3), dTable);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 8, 10, 12, 0, 0, 0, 4, 5, 6}, dTable.toFloatArray());
    }
}
