package dev.statetune.backend.cpu;

import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * out (T, n) = x[:, xCol : xCol+k] · wᵀ + bias, the linear layers' GEMM, for w (n, k) read where it
 * lies (float32 or bfloat16, memory-mapped). From PACKED_ROWS rows on it is CpuMatmulAcc's packed
 * GEMM with w read transposed. Fewer rows (a decode step, where packing would only add a pass over
 * w) take dot products of contiguous rows, reading x and w in place: one row of x by 4 rows of w
 * per micro-tile; threads split the output columns.
 */
final class CpuMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Rows from which packing pays: each packed panel of w serves at least 8 row tiles. At 16 rows
     * beam search (5 beams × 4 prompts, 20 rows) decoded 16–17 tokens/s packed, 21 in place.
     */
    private static final int PACKED_ROWS = 32;

    private CpuMatmul() {}

    static void linear(Parallel par, Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        int rows = (int) out.size(0), n = (int) out.size(1), k = (int) w.size(1);
        int xStride = (int) x.size(1);
        boolean bf16 = w.dtype() == DType.BF16;
        if (!bf16 && w.dtype() != DType.F32) throw new IllegalArgumentException("linear reads F32 or BF16 weights, got " + w.dtype());
        MemorySegment xs = x.data(), ws = w.data(), os = out.data();
        float[] b = bias == null ? null : bias.toFloatArray();
        if (rows >= PACKED_ROWS) {
            os.asSlice(0, (long) rows * n * 4).fill((byte) 0);
            CpuMatmulAcc.accumulate(par, new CpuMatmulAcc.View(xs, DType.F32, xCol, xStride, 1), new CpuMatmulAcc.View(ws, w.dtype(), 0, 1, k),
                    new CpuMatmulAcc.View(os, DType.F32, 0, n, 1), rows, k, n);
            if (b != null) par.forEach(rows, r -> {
                for (int j = 0; j < n; j++) os.setAtIndex(Tensor.F32, (long) r * n + j, os.getAtIndex(Tensor.F32, (long) r * n + j) + b[j]);
            });
            return;
        }
        int tiles = (n + 3) / 4;
        int chunks = Math.min(tiles, par.threads * 8);
        par.forEach(chunks, c -> {
            int tileFrom = (int) ((long) tiles * c / chunks), tileTo = (int) ((long) tiles * (c + 1) / chunks);
            float[] lanes = new float[4 * L];   // the accumulators' lanes, summed in a fixed order
            for (int tile = tileFrom; tile < tileTo; tile++)   // a tile's 4 rows of w stay in L1 while each row of x passes
                for (int r = 0; r < rows; r++) tile1x4(xs, ((long) r * xStride + xCol) * 4, r, ws, tile * 4, n, k, bf16, b, os, lanes);
        });
    }

    /** out row r, columns j0..j0+3, from x's row at byte xa of x and w's rows where they lie. */
    private static void tile1x4(MemorySegment x, long xa, int r, MemorySegment w, int j0, int n, int k, boolean bf16, float[] bias,
                                MemorySegment out, float[] lanes) {
        long ja = j0, jb = Math.min(j0 + 1, n - 1), jc = Math.min(j0 + 2, n - 1), jd = Math.min(j0 + 3, n - 1);
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

    /** Loads L weights from w[row, col...] as floats. */
    private static FloatVector loadW(MemorySegment w, long row, int k, int col, boolean bf16) {
        if (!bf16) return FloatVector.fromMemorySegment(F, w, (row * k + col) * 4, LE);
        return ShortVector.fromMemorySegment(S, w, (row * k + col) * 2, LE).convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float wScalar(MemorySegment w, long row, int k, int col, boolean bf16) {
        long i = row * k + col;
        return bf16 ? Float.intBitsToFloat((w.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff) << 16) : w.getAtIndex(Tensor.F32, i);
    }
}
