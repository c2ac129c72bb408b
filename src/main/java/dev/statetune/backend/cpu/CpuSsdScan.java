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
 * (sequence, head). The head's state is held as stored, (headDim, n padded to whole vectors), so a
 * decode step copies it in and out in rows; per channel each step is one vectorised pass over the
 * state dimension that decays, adds and reads out, and the read-out's lanes are summed in order
 * (CpuMath.sumLanes), so results do not depend on the JIT tier.
 */
final class CpuSsdScan {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private CpuSsdScan() {}

    static void scan(Parallel par, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax,
                     Tensor A, Tensor D, SsdDims dims, int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), np = (n + L - 1) / L * L;
        int di = dims.innerDim(), conv = dims.convDim(), dtStride = (int) dtRaw.size(1), ng = dims.nGroups();
        float[] a = A.toFloatArray(), d = D.toFloatArray(), bias = dtBias.toFloatArray();   // (nh)
        float[] yOff = yOffset == null ? null : yOffset.toFloatArray();                      // (nh, p)
        MemorySegment xs = xBC.data(), dts = dtRaw.data(), hs = state.data(), ys = y.data();
        par.forEach(batch * nh, item -> {
            int s = item / nh, h = item % nh, bCol = di + dims.group(h) * n, cCol = bCol + ng * n;
            long stateAt = ((long) s * nh + h) * p * n;
            float[] st = CpuMath.paddedRows(hs, stateAt, p, n, np, new float[p * np]);                                                    // (p, np) the head's state
            float[] off = hOffset == null ? null : CpuMath.paddedRows(hOffset.data(), (long) h * p * n, p, n, np, new float[p * np]);   // (p, np) its h′
            float[] x = new float[p], out = new float[p], lanes = new float[L];   // (p) x_t, y_t
            float[] b = new float[np], c = new float[np];                           // (np) B_t, C_t
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                float dt = CpuMath.softplus(dts.getAtIndex(Tensor.F32, row * dtStride + dtCol + h) + bias[h]);
                dt = Math.min(Math.max(dt, dtMin), dtMax);
                FloatVector decay = FloatVector.broadcast(F, CpuMath.exp(dt * a[h]));
                MemorySegment.copy(xs, Tensor.F32, (row * conv + (long) h * p) * 4, x, 0, p);
                MemorySegment.copy(xs, Tensor.F32, (row * conv + bCol) * 4, b, 0, n);
                MemorySegment.copy(xs, Tensor.F32, (row * conv + cCol) * 4, c, 0, n);
                for (int i = 0; i < p; i++) {
                    FloatVector u = FloatVector.broadcast(F, dt * x[i]), sum = FloatVector.zero(F);
                    for (int k = 0; k < np; k += L) {
                        int e = i * np + k;
                        FloatVector hv = FloatVector.fromArray(F, b, k).fma(u, FloatVector.fromArray(F, st, e).mul(decay));
                        hv.intoArray(st, e);
                        if (off != null) hv = hv.add(FloatVector.fromArray(F, off, e));
                        sum = FloatVector.fromArray(F, c, k).fma(hv, sum);
                    }
                    sum.intoArray(lanes, 0);
                    out[i] = CpuMath.sumLanes(lanes, 0) + d[h] * x[i] + (yOff == null ? 0f : yOff[h * p + i]);
                }
                MemorySegment.copy(out, 0, ys, Tensor.F32, (row * di + (long) h * p) * 4, p);
            }
            for (int i = 0; i < p; i++) MemorySegment.copy(st, i * np, hs, Tensor.F32, (stateAt + (long) i * n) * 4, n);
        });
    }
}
