package dev.statetune.backend.cpu;

import dev.statetune.backend.cpu.CpuMatmulAcc.View;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The backward of the CPU backend's ops other than the scan (CpuScanBackward) and the loss
 * (CpuCrossEntropy). Every gradient is accumulated (+=); a null gradient is not computed, so a
 * frozen weight costs nothing beyond the dx it must pass on.
 */
final class CpuBackward {
    private CpuBackward() {}

    /** dx (T, ≥dxCol+k) += dOut · w;  dW (n, k) += dOutᵀ · x[:, xCol:xCol+k];  dBias (n) += Σ_t dOut. */
    static void linear(Parallel par, Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, Tensor dW, Tensor dBias) {
        int rows = (int) dOut.size(0), n = (int) dOut.size(1), k = (int) w.size(1);
        View dy = new View(dOut.data(), DType.F32, 0, n, 1);
        if (dx != null)
            CpuMatmulAcc.accumulate(par, dy, new View(w.data(), w.dtype(), 0, k, 1), new View(dx.data(), DType.F32, dxCol, dx.size(1), 1), rows, n, k);
        if (dW != null)
            CpuMatmulAcc.accumulate(par, new View(dOut.data(), DType.F32, 0, 1, n), new View(x.data(), DType.F32, xCol, x.size(1), 1),
                    new View(dW.data(), DType.F32, 0, k, 1), n, rows, k);
        if (dBias != null) {
            MemorySegment g = dOut.data(), b = dBias.data();
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int t = 0; t < rows; t++) s += g.getAtIndex(Tensor.F32, (long) t * n + j);
                b.setAtIndex(Tensor.F32, j, b.getAtIndex(Tensor.F32, j) + s);
            }
        }
    }

    /** For out = x / rms(x) ⊙ w: dx (T, d) += …, dWeight (d) += Σ_t dOut ⊙ x / rms(x). */
    static void rmsNorm(Tensor x, Tensor weight, float eps, Tensor dOut, Tensor dx, Tensor dWeight) {
        int rows = (int) x.size(0), d = (int) x.size(1);
        float[] w = weight.toFloatArray();
        MemorySegment xs = x.data(), gs = dOut.data(), dxs = dx == null ? null : dx.data();
        float[] dw = dWeight == null ? null : new float[d];
        for (int t = 0; t < rows; t++) {
            long base = (long) t * d;
            double sq = 0, dot = 0;
            for (int c = 0; c < d; c++) {
                float v = xs.getAtIndex(Tensor.F32, base + c);
                sq += v * v;
                dot += (double) w[c] * gs.getAtIndex(Tensor.F32, base + c) * v;
            }
            double r = 1.0 / Math.sqrt(sq / d + eps);
            for (int c = 0; c < d; c++) {
                float v = xs.getAtIndex(Tensor.F32, base + c), g = gs.getAtIndex(Tensor.F32, base + c);
                if (dw != null) dw[c] += (float) (g * v * r);
                if (dxs != null) {
                    double grad = r * w[c] * g - v * r * r * r * dot / d;
                    dxs.setAtIndex(Tensor.F32, base + c, dxs.getAtIndex(Tensor.F32, base + c) + (float) grad);
                }
            }
        }
        if (dw != null) for (int c = 0; c < d; c++) dWeight.data().setAtIndex(Tensor.F32, c, dWeight.data().getAtIndex(Tensor.F32, c) + dw[c]);
    }

    /**
     * For out = silu(conv(x) + bias) with x = in[:, inCol : inCol+di] preceded by the conv state state0
     * (b, di, k−1) (zeros when null): dIn[:, inCol : inCol+di] += …, dWeight (di, 1, k), dBias (di) and
     * dState0 (b, di, k−1) += …. Channels are split over threads, so no two write one weight.
     */
    static void causalConv1dSilu(Parallel par, Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor state0,
                                 Tensor dOut, Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0) {
        int inner = (int) dOut.size(1), k = (int) weight.size(weight.rank() - 1), stride = (int) in.size(1);
        float[] w = weight.toFloatArray(), b = bias == null ? new float[inner] : bias.toFloatArray();
        MemorySegment xs = in.data(), gs = dOut.data();
        par.forEach(inner, c -> {
            float[] pad = new float[k - 1 + len], dpad = new float[k - 1 + len], dw = new float[k];
            float db = 0;
            for (int s = 0; s < batch; s++) {
                for (int j = 0; j < k - 1; j++) pad[j] = state0 == null ? 0 : state0.data().getAtIndex(Tensor.F32, ((long) s * inner + c) * (k - 1) + j);
                for (int t = 0; t < len; t++) pad[k - 1 + t] = xs.getAtIndex(Tensor.F32, ((long) s * len + t) * stride + inCol + c);
                java.util.Arrays.fill(dpad, 0f);
                for (int t = 0; t < len; t++) {
                    float u = b[c];
                    for (int j = 0; j < k; j++) u += w[c * k + j] * pad[t + j];
                    float sig = CpuMath.sigmoid(u);
                    float du = gs.getAtIndex(Tensor.F32, ((long) s * len + t) * inner + c) * sig * (1 + u * (1 - sig));
                    db += du;
                    for (int j = 0; j < k; j++) {
                        dw[j] += du * pad[t + j];
                        dpad[t + j] += du * w[c * k + j];
                    }
                }
                if (dIn != null)
                    for (int t = 0; t < len; t++) {
                        long at = ((long) s * len + t) * dIn.size(1) + inCol + c;
                        dIn.data().setAtIndex(Tensor.F32, at, dIn.data().getAtIndex(Tensor.F32, at) + dpad[k - 1 + t]);
                    }
                if (dState0 != null)
                    for (int j = 0; j < k - 1; j++) {
                        long at = ((long) s * inner + c) * (k - 1) + j;
                        dState0.data().setAtIndex(Tensor.F32, at, dState0.data().getAtIndex(Tensor.F32, at) + dpad[j]);
                    }
            }
            if (dWeight != null)
                for (int j = 0; j < k; j++) dWeight.data().setAtIndex(Tensor.F32, (long) c * k + j, dWeight.data().getAtIndex(Tensor.F32, (long) c * k + j) + dw[j]);
            if (dBias != null) dBias.data().setAtIndex(Tensor.F32, c, dBias.data().getAtIndex(Tensor.F32, c) + db);
        });
    }

    /**
     * For out = v / rms_group(v) ⊙ w with v = y ⊙ silu(z): dv = r·w⊙g − v·r³·Σ_group(w⊙g⊙v)/groupSize per
     * group, then dy += dv ⊙ silu(z), dz[:, zCol+c] += dv·y·silu′(z), dWeight += Σ_t g ⊙ v·r. Rows are split
     * over threads; dWeight is summed per row block first.
     */
    static void gatedRmsNorm(Parallel par, Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor dOut,
                             Tensor dy, Tensor dz, Tensor dWeight) {
        int rows = (int) y.size(0), w = (int) y.size(1), zStride = (int) z.size(1), blocks = Math.min(rows, 64);
        float[] wt = weight.toFloatArray();
        float[][] dw = new float[blocks][];
        MemorySegment ys = y.data(), zs = z.data(), gs = dOut.data();
        par.forEach(blocks, block -> {
            float[] v = new float[w], dwb = dWeight == null ? null : new float[w];
            for (int t = block * rows / blocks; t < (block + 1) * rows / blocks; t++) {
                long base = (long) t * w, zBase = (long) t * zStride + zCol;
                for (int c = 0; c < w; c++) v[c] = ys.getAtIndex(Tensor.F32, base + c) * CpuMath.silu(zs.getAtIndex(Tensor.F32, zBase + c));
                for (int c0 = 0; c0 < w; c0 += groupSize) {
                    double sq = 0, dot = 0;
                    for (int c = c0; c < c0 + groupSize; c++) {
                        sq += v[c] * v[c];
                        dot += (double) wt[c] * gs.getAtIndex(Tensor.F32, base + c) * v[c];
                    }
                    double r = 1.0 / Math.sqrt(sq / groupSize + eps);
                    for (int c = c0; c < c0 + groupSize; c++) {
                        float g = gs.getAtIndex(Tensor.F32, base + c), zv = zs.getAtIndex(Tensor.F32, zBase + c);
                        if (dwb != null) dwb[c] += (float) (g * v[c] * r);
                        float dv = (float) (r * wt[c] * g - v[c] * r * r * r * dot / groupSize), sig = CpuMath.sigmoid(zv);
                        if (dy != null) add(dy, base + c, dv * zv * sig);
                        if (dz != null) add(dz, zBase + c, dv * ys.getAtIndex(Tensor.F32, base + c) * sig * (1 + zv * (1 - sig)));
                    }
                }
            }
            dw[block] = dwb;
        });
        if (dWeight != null)
            for (int c = 0; c < w; c++) {
                float sum = 0;
                for (float[] b : dw) sum += b[c];
                add(dWeight, c, sum);
            }
    }

    private static void add(Tensor t, long i, float v) {
        t.data().setAtIndex(Tensor.F32, i, t.data().getAtIndex(Tensor.F32, i) + v);
    }

    /** dPre (T, n) += dOut ⊙ softplus′(pre) = dOut ⊙ sigmoid(pre) (1 where pre > 20, as torch). */
    static void softplus(Tensor pre, Tensor dOut, Tensor dPre) {
        MemorySegment p = pre.data(), g = dOut.data(), d = dPre.data();
        for (long i = 0, n = pre.numel(); i < n; i++) {
            float v = p.getAtIndex(Tensor.F32, i);
            float slope = v > 20f ? 1f : CpuMath.sigmoid(v);
            d.setAtIndex(Tensor.F32, i, d.getAtIndex(Tensor.F32, i) + g.getAtIndex(Tensor.F32, i) * slope);
        }
    }
}
