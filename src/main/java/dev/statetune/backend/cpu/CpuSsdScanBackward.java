package dev.statetune.backend.cpu;

import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The backward of CpuSsdScan, written against the recurrence it equals (PAPER_NOTES.md, Mamba-2
 * analogue): per head, the states h_0..h_len are recomputed into a local buffer, then the carry
 * dh_t = dy_t C_tᵀ + exp(dt_{t+1}·A_h)·dh_{t+1} runs backwards and feeds every input's gradient;
 * dt's passes back through the clamp (zero where it clamped, as torch.clamp) and the softplus.
 * Work items are (sequence, group), so each owns its B and C gradients; per-head parameter
 * gradients are summed per sequence first.
 */
final class CpuSsdScanBackward {
    private CpuSsdScanBackward() {}

    static void backward(Parallel par, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                         SsdDims dims, int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, SsdGrads g) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), ng = dims.nGroups(), di = dims.innerDim();
        int conv = dims.convDim(), dtStride = (int) dtRaw.size(1), dtGradStride = (int) g.dDtRaw().size(1), pn = p * n;
        float[] a = A.toFloatArray(), d = D.toFloatArray(), bias = dtBias.toFloatArray();   // (nh)
        float[] hOff = hOffset == null ? new float[nh * pn] : hOffset.toFloatArray();       // (nh, p, n)
        float[][] perSeq = new float[batch][nh * (3 + pn + p)];   // per sequence: dDtBias | dA | dD (nh each) | dh′ (nh, p, n) | dy′ (nh, p)
        int dAAt = nh, dDAt = 2 * nh, dhOffAt = 3 * nh, dyOffAt = 3 * nh + nh * pn;
        MemorySegment xs = xBC.data(), dts = dtRaw.data(), dys = dy.data(), dxs = g.dxBC().data(), ddts = g.dDtRaw().data();
        par.forEach(batch * ng, item -> {
            int s = item / ng, grp = item % ng, bCol = di + grp * n, cCol = di + ng * n + grp * n;
            float[] acc = perSeq[s];
            float[] bt = new float[len * n], ct = new float[len * n], dB = new float[len * n], dC = new float[len * n];   // (len, n)
            float[] hist = new float[(len + 1) * pn];    // (len+1, p, n): h_0 .. h_len of the current head
            float[] carry = new float[pn];               // (p, n) ∂L/∂h_t carried back from t+1
            float[] x = new float[len * p], gy = new float[len * p], dt = new float[len], pre = new float[len];   // (len, p), (len)
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                MemorySegment.copy(xs, Tensor.F32, (row * conv + bCol) * 4, bt, t * n, n);
                MemorySegment.copy(xs, Tensor.F32, (row * conv + cCol) * 4, ct, t * n, n);
            }
            for (int h = grp * (nh / ng); h < (grp + 1) * (nh / ng); h++) {
                for (int e = 0; e < pn; e++) hist[e] = h0 == null ? 0 : h0.data().getAtIndex(Tensor.F32, ((long) s * nh + h) * pn + e);
                for (int t = 0; t < len; t++) {             // recompute h_1..h_len
                    long row = (long) s * len + t;
                    pre[t] = dts.getAtIndex(Tensor.F32, row * dtStride + dtCol + h) + bias[h];
                    dt[t] = Math.min(Math.max(CpuMath.softplus(pre[t]), dtMin), dtMax);
                    MemorySegment.copy(xs, Tensor.F32, (row * conv + (long) h * p) * 4, x, t * p, p);
                    MemorySegment.copy(dys, Tensor.F32, (row * di + (long) h * p) * 4, gy, t * p, p);
                    float decay = CpuMath.exp(dt[t] * a[h]);
                    for (int i = 0; i < p; i++) {
                        float u = dt[t] * x[t * p + i];
                        for (int k = 0; k < n; k++)
                            hist[(t + 1) * pn + i * n + k] = decay * hist[t * pn + i * n + k] + u * bt[t * n + k];
                    }
                }
                java.util.Arrays.fill(carry, 0f);
                for (int t = len - 1; t >= 0; t--) {
                    long row = (long) s * len + t;
                    float decay = CpuMath.exp(dt[t] * a[h]), ddt = 0, dA = 0;
                    for (int i = 0; i < p; i++) {
                        float gyi = gy[t * p + i], xi = x[t * p + i], dx = d[h] * gyi;
                        acc[dDAt + h] += gyi * xi;
                        acc[dyOffAt + h * p + i] += gyi;
                        int cur = (t + 1) * pn + i * n, prev = t * pn + i * n, off = h * pn + i * n;
                        for (int k = 0; k < n; k++) {
                            float c = ct[t * n + k], b = bt[t * n + k], hp = hist[prev + k];
                            dC[t * n + k] += gyi * (hist[cur + k] + hOff[off + k]);
                            acc[dhOffAt + off + k] += gyi * c;
                            float grad = carry[i * n + k] + gyi * c;   // ∂L/∂h_t
                            dx += dt[t] * grad * b;
                            dB[t * n + k] += dt[t] * grad * xi;
                            ddt += grad * (xi * b + a[h] * decay * hp);
                            dA += grad * dt[t] * decay * hp;
                            carry[i * n + k] = grad * decay;
                        }
                        add(dxs, row * conv + (long) h * p + i, dx);
                    }
                    acc[dAAt + h] += dA;
                    float sp = CpuMath.softplus(pre[t]);
                    float dPre = sp < dtMin || sp > dtMax ? 0 : ddt * (pre[t] > 20f ? 1f : CpuMath.sigmoid(pre[t]));
                    add(ddts, row * dtGradStride + dtCol + h, dPre);
                    acc[h] += dPre;
                }
                if (g.dh0() != null) for (int e = 0; e < pn; e++) add(g.dh0().data(), ((long) s * nh + h) * pn + e, carry[e]);
            }
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                for (int k = 0; k < n; k++) {
                    add(dxs, row * conv + bCol + k, dB[t * n + k]);
                    add(dxs, row * conv + cCol + k, dC[t * n + k]);
                }
            }
        });
        accumulate(perSeq, 0, g.dDtBias());
        accumulate(perSeq, dAAt, g.dA());
        accumulate(perSeq, dDAt, g.dD());
        accumulate(perSeq, dhOffAt, g.dhOffset());
        accumulate(perSeq, dyOffAt, g.dyOffset());
    }

    /** grad (…) += Σ_s perSeq[s][from : from + numel(grad)]; nothing when grad is null. */
    private static void accumulate(float[][] perSeq, int from, Tensor grad) {
        if (grad == null) return;
        for (long e = 0; e < grad.numel(); e++) {
            float sum = 0;
            for (float[] seq : perSeq) sum += seq[from + (int) e];
            add(grad.data(), e, sum);
        }
    }

    private static void add(MemorySegment m, long i, float v) {
        m.setAtIndex(Tensor.F32, i, m.getAtIndex(Tensor.F32, i) + v);
    }
}
