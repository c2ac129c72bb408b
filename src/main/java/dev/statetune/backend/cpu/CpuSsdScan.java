package dev.statetune.backend.cpu;

import dev.statetune.backend.SsdDims;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-2 SSD scan on the CPU as the recurrence it equals (PAPER_NOTES.md's Mamba-2 analogue):
 * h_t = exp(dt_t·A_h)·h_{t−1} + dt_t·x_t B_tᵀ; y_t = (h_t + h′)·C_t + D_h·x_t + y′. On a CPU this
 * costs less than the chunked (state space dual) form, whose quadratic part and decay exps only pay
 * off on parallel hardware; both give transformers' numbers to float precision. Work items are
 * (sequence, head). The head's state is held transposed, (n, headDim padded to whole vectors), so
 * that each step is, per vector of channels, one pass over the state dimension that decays, adds
 * and reads out in registers: vectorised, no lane reductions, JIT-tier independent.
 */
final class CpuSsdScan {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private CpuSsdScan() {}

    static void scan(Parallel par, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax,
                     Tensor A, Tensor D, SsdDims dims, int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), pp = (p + L - 1) / L * L;
        int di = dims.innerDim(), conv = dims.convDim(), dtStride = (int) dtRaw.size(1), ng = dims.nGroups();
        float[] a = A.toFloatArray(), d = D.toFloatArray(), bias = dtBias.toFloatArray();   // (nh)
        float[] hOff = hOffset == null ? null : hOffset.toFloatArray();                      // (nh, p, n)
        float[] yOff = yOffset == null ? null : yOffset.toFloatArray();                      // (nh, p)
        MemorySegment xs = xBC.data(), dts = dtRaw.data(), hs = state.data(), ys = y.data();
        par.forEach(batch * nh, item -> {
            int s = item / nh, h = item % nh, bCol = di + dims.group(h) * n, cCol = bCol + ng * n;
            long stateAt = ((long) s * nh + h) * p * n;
            float[] hT = new float[n * pp];                             // (n, pp) the head's state
            for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) hT[k * pp + i] = hs.getAtIndex(Tensor.F32, stateAt + (long) i * n + k);
            float[] offT = hOff == null ? null : transposedHead(hOff, h, p, n, pp);   // (n, pp)
            float[] dtx = new float[pp], out = new float[pp];          // (pp) dt_t·x_t, y_t
            float[] b = new float[n], c = new float[n];                 // (n) B_t, C_t
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                float dt = CpuMath.softplus(dts.getAtIndex(Tensor.F32, row * dtStride + dtCol + h) + bias[h]);
                dt = Math.min(Math.max(dt, dtMin), dtMax);
                FloatVector decay = FloatVector.broadcast(F, CpuMath.exp(dt * a[h]));
                MemorySegment.copy(xs, Tensor.F32, (row * conv + (long) h * p) * 4, dtx, 0, p);
                for (int i = 0; i < p; i++) dtx[i] *= dt;
                MemorySegment.copy(xs, Tensor.F32, (row * conv + bCol) * 4, b, 0, n);
                MemorySegment.copy(xs, Tensor.F32, (row * conv + cCol) * 4, c, 0, n);
                for (int i = 0; i < pp; i += L) {
                    FloatVector u = FloatVector.fromArray(F, dtx, i), sum = FloatVector.zero(F);
                    for (int k = 0; k < n; k++) {
                        FloatVector hv = FloatVector.broadcast(F, b[k]).fma(u, FloatVector.fromArray(F, hT, k * pp + i).mul(decay));
                        hv.intoArray(hT, k * pp + i);
                        sum = FloatVector.broadcast(F, c[k]).fma(hv, sum);
                    }
                    if (offT != null)
                        for (int k = 0; k < n; k++) sum = FloatVector.broadcast(F, c[k]).fma(FloatVector.fromArray(F, offT, k * pp + i), sum);
                    sum.intoArray(out, i);
                }
                for (int i = 0; i < p; i++) {
                    float xv = xs.getAtIndex(Tensor.F32, row * conv + (long) h * p + i);
                    out[i] += d[h] * xv + (yOff == null ? 0f : yOff[h * p + i]);
                }
                MemorySegment.copy(out, 0, ys, Tensor.F32, (row * di + (long) h * p) * 4, p);
            }
            for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) hs.setAtIndex(Tensor.F32, stateAt + (long) i * n + k, hT[k * pp + i]);
        });
    }

    /** Head h of a (nHeads, p, n) array as (n, pp), zeros past p. */
    private static float[] transposedHead(float[] v, int h, int p, int n, int pp) {
        float[] t = new float[n * pp];
        for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) t[k * pp + i] = v[(h * p + i) * n + k];
        return t;
    }
}
