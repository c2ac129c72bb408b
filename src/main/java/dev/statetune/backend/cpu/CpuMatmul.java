package dev.statetune.backend.cpu;

import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * out (T, n) = x[:, xCol : xCol+k] · wᵀ + bias, the linear layers' GEMM. w (n, k) is read where it
 * lies (float32 or bfloat16, memory-mapped), as dot products of contiguous rows: 4 rows of x by 4
 * rows of w per micro-tile, 16 vector accumulators, rows of x blocked so a block stays in L2 while
 * each group of 4 w rows stays in L1. Threads split the output columns.
 */
final class CpuMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int ROW_BLOCK = 64;

    private CpuMatmul() {}

    static void linear(Parallel par, Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        int rows = (int) out.size(0), n = (int) out.size(1), k = (int) w.size(1);
        int xStride = (int) x.size(1);
        boolean bf16 = w.dtype() == DType.BF16;
        if (!bf16 && w.dtype() != DType.F32) throw new IllegalArgumentException("linear reads F32 or BF16 weights, got " + w.dtype());
        MemorySegment xs = x.data(), ws = w.data(), os = out.data();
        float[] b = bias == null ? null : bias.toFloatArray();
        int tiles = (n + 3) / 4;
        int chunks = Math.min(tiles, par.threads * 8);
        par.forEach(chunks, c -> {
            int tileFrom = (int) ((long) tiles * c / chunks), tileTo = (int) ((long) tiles * (c + 1) / chunks);
            float[] lanes = new float[16 * L];   // the accumulators' lanes, summed in a fixed order
            for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
                int r1 = Math.min(rows, r0 + ROW_BLOCK);
                for (int tile = tileFrom; tile < tileTo; tile++) {
                    int j0 = tile * 4;
                    int r = r0;
                    for (; r + 4 <= r1; r += 4) tile4x4(xs, r, xStride, xCol, ws, j0, n, k, bf16, b, os, lanes);
                    for (; r < r1; r++) tile1x4(xs, r, xStride, xCol, ws, j0, n, k, bf16, b, os, lanes);
                }
            }
        });
    }

    /** Loads L weights from w[row, col...] as floats. */
    private static FloatVector loadW(MemorySegment w, long row, int k, int col, boolean bf16) {
        if (!bf16) return FloatVector.fromMemorySegment(F, w, (row * k + col) * 4, LE);
        return ShortVector.fromMemorySegment(S, w, (row * k + col) * 2, LE)
                .convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float wScalar(MemorySegment w, long row, int k, int col, boolean bf16) {
        long i = row * k + col;
        return bf16 ? Float.intBitsToFloat((w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff) << 16)
                : w.getAtIndex(Tensor.F32, i);
    }

    private static void tile4x4(MemorySegment x, int r, int xStride, int xCol, MemorySegment w, int j0, int n, int k,
                                boolean bf16, float[] bias, MemorySegment out, float[] lanes) {
        long xa = ((long) r * xStride + xCol) * 4, xb = xa + xStride * 4L, xc = xb + xStride * 4L, xd = xc + xStride * 4L;
        int ja = j0, jb = Math.min(j0 + 1, n - 1), jc = Math.min(j0 + 2, n - 1), jd = Math.min(j0 + 3, n - 1);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int kv = k - k % L, p = 0;
        for (; p < kv; p += L) {
            FloatVector wa = loadW(w, ja, k, p, bf16), wb = loadW(w, jb, k, p, bf16);
            FloatVector wc = loadW(w, jc, k, p, bf16), wd = loadW(w, jd, k, p, bf16);
            FloatVector v = FloatVector.fromMemorySegment(F, x, xa + p * 4L, LE);
            a0 = v.fma(wa, a0); a1 = v.fma(wb, a1); a2 = v.fma(wc, a2); a3 = v.fma(wd, a3);
            v = FloatVector.fromMemorySegment(F, x, xb + p * 4L, LE);
            b0 = v.fma(wa, b0); b1 = v.fma(wb, b1); b2 = v.fma(wc, b2); b3 = v.fma(wd, b3);
            v = FloatVector.fromMemorySegment(F, x, xc + p * 4L, LE);
            c0 = v.fma(wa, c0); c1 = v.fma(wb, c1); c2 = v.fma(wc, c2); c3 = v.fma(wd, c3);
            v = FloatVector.fromMemorySegment(F, x, xd + p * 4L, LE);
            d0 = v.fma(wa, d0); d1 = v.fma(wb, d1); d2 = v.fma(wc, d2); d3 = v.fma(wd, d3);
        }
        a0.intoArray(lanes, 0); a1.intoArray(lanes, L); a2.intoArray(lanes, 2 * L); a3.intoArray(lanes, 3 * L);
        b0.intoArray(lanes, 4 * L); b1.intoArray(lanes, 5 * L); b2.intoArray(lanes, 6 * L); b3.intoArray(lanes, 7 * L);
        c0.intoArray(lanes, 8 * L); c1.intoArray(lanes, 9 * L); c2.intoArray(lanes, 10 * L); c3.intoArray(lanes, 11 * L);
        d0.intoArray(lanes, 12 * L); d1.intoArray(lanes, 13 * L); d2.intoArray(lanes, 14 * L); d3.intoArray(lanes, 15 * L);
        for (int i = 0; i < 4; i++) {
            long xo = ((long) (r + i) * xStride + xCol) * 4;
            for (int j = 0; j < 4 && j0 + j < n; j++) {
                float s = CpuMath.sumLanes(lanes, (4 * i + j) * L);
                for (int q = p; q < k; q++) s += x.get(Tensor.F32, xo + q * 4L) * wScalar(w, j0 + j, k, q, bf16);
                if (bias != null) s += bias[j0 + j];
                out.setAtIndex(Tensor.F32, (long) (r + i) * n + j0 + j, s);
            }
        }
    }

    private static void tile1x4(MemorySegment x, int r, int xStride, int xCol, MemorySegment w, int j0, int n, int k,
                                boolean bf16, float[] bias, MemorySegment out, float[] lanes) {
        long xa = ((long) r * xStride + xCol) * 4;
        int ja = j0, jb = Math.min(j0 + 1, n - 1), jc = Math.min(j0 + 2, n - 1), jd = Math.min(j0 + 3, n - 1);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int kv = k - k % L, p = 0;
        for (; p < kv; p += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, xa + p * 4L, LE);
            a0 = v.fma(loadW(w, ja, k, p, bf16), a0);
            a1 = v.fma(loadW(w, jb, k, p, bf16), a1);
            a2 = v.fma(loadW(w, jc, k, p, bf16), a2);
            a3 = v.fma(loadW(w, jd, k, p, bf16), a3);
        }
        a0.intoArray(lanes, 0); a1.intoArray(lanes, L); a2.intoArray(lanes, 2 * L); a3.intoArray(lanes, 3 * L);
        for (int j = 0; j < 4 && j0 + j < n; j++) {
            float s = CpuMath.sumLanes(lanes, j * L);
            for (int q = p; q < k; q++) s += x.get(Tensor.F32, xa + q * 4L) * wScalar(w, j0 + j, k, q, bf16);
            if (bias != null) s += bias[j0 + j];
            out.setAtIndex(Tensor.F32, (long) r * n + j0 + j, s);
        }
    }
}
