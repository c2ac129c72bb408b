package dev.statetune.backend.cpu;

import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The Mamba-1 selective scan on the CPU, sequential in time as PAPER_NOTES.md writes it, with the
 * State-offset seams: h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·x_t;
 * y_t = (C_t·(h_t + h′) + D ⊙ x_t + y′) ⊙ silu(z_t). h′ is read out only, never fed back.
 * Work items are (sequence, block of channels); a block's states stay in L1 while B_t and C_t,
 * shared by all channels, are read once per time step. The state dimension is vectorised.
 */
final class CpuScan {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int CHANNEL_BLOCK = 32;

    private CpuScan() {}

    static void scan(Parallel par, Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                     int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        int inner = (int) x.size(1), n = (int) A.size(1);
        float[] hOff = hOffset == null ? new float[inner * n] : hOffset.toFloatArray();  // (di, n)
        float[] yOff = yOffset == null ? new float[inner] : yOffset.toFloatArray();      // (di)
        int bcStride = (int) bc.size(1), zStride = (int) z.size(1);
        float[] a = A.toFloatArray();   // (di, n)
        float[] d = D.toFloatArray();   // (di)
        int blocks = (inner + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
        MemorySegment xs = x.data(), dts = dt.data(), bcs = bc.data(), zs = z.data(), hs = state.data(), ys = y.data();
        int nv = n - n % F.length();
        par.forEach(batch * blocks, item -> {
            int s = item / blocks, c0 = (item % blocks) * CHANNEL_BLOCK, c1 = Math.min(inner, c0 + CHANNEL_BLOCK);
            float[] h = new float[(c1 - c0) * n];     // (block, n)
            MemorySegment.copy(hs, Tensor.F32, ((long) s * inner + c0) * n * 4, h, 0, h.length);
            float[] bt = new float[n], ct = new float[n], yt = new float[c1 - c0], zt = new float[c1 - c0];
            float[] lanes = new float[F.length()];
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol) * 4, bt, 0, n);
                MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol + n) * 4, ct, 0, n);
                for (int c = c0; c < c1; c++) {
                    float dtv = dts.getAtIndex(Tensor.F32, row * inner + c), xv = xs.getAtIndex(Tensor.F32, row * inner + c);
                    float dtx = dtv * xv;
                    int hb = (c - c0) * n, ab = c * n;
                    float acc = 0;
                    int p = 0;
                    if (nv > 0) {
                        FloatVector sum = FloatVector.zero(F);
                        for (; p < nv; p += F.length()) {
                            FloatVector dA = CpuMath.exp(FloatVector.fromArray(F, a, ab + p).mul(dtv));
                            FloatVector hv = FloatVector.fromArray(F, h, hb + p).mul(dA)
                                    .add(FloatVector.fromArray(F, bt, p).mul(dtx));
                            hv.intoArray(h, hb + p);
                            sum = hv.add(FloatVector.fromArray(F, hOff, ab + p)).fma(FloatVector.fromArray(F, ct, p), sum);
                        }
                        sum.intoArray(lanes, 0);
                        acc = CpuMath.sumLanes(lanes, 0);
                    }
                    for (; p < n; p++) {
                        float hv = CpuMath.exp(dtv * a[ab + p]) * h[hb + p] + dtx * bt[p];
                        h[hb + p] = hv;
                        acc += (hv + hOff[ab + p]) * ct[p];
                    }
                    yt[c - c0] = acc + d[c] * xv + yOff[c];
                }
                gate(yt, c1 - c0, zs, (row * zStride + zCol + c0) * 4, ys, (row * inner + c0) * 4, zt);
            }
            MemorySegment.copy(h, 0, hs, Tensor.F32, ((long) s * inner + c0) * n * 4, h.length);
        });
    }

    /** y[0:width] ⊙ silu(z[0:width]) written to out (byte offsets into the segments). */
    private static void gate(float[] y, int width, MemorySegment z, long zOffset, MemorySegment out, long outOffset, float[] zBuf) {
        MemorySegment.copy(z, Tensor.F32, zOffset, zBuf, 0, width);
        int c = 0;
        for (; c + F.length() <= width; c += F.length())
            FloatVector.fromArray(F, y, c).mul(CpuMath.silu(FloatVector.fromArray(F, zBuf, c))).intoArray(y, c);
        for (; c < width; c++) y[c] *= CpuMath.silu(zBuf[c]);
        MemorySegment.copy(y, 0, out, Tensor.F32, outOffset, width);
    }
}
