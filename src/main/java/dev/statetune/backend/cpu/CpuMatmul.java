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
 * out (T, n) = x[:, xCol : xCol+k] · wᵀ + bias, the linear layers' GEMM. w (n, k) is read where it
 * lies (float32 or bfloat16, memory-mapped), as dot products of contiguous rows: 4 rows of x by 4
 * rows of w per micro-tile, 16 vector accumulators. Threads split the output columns; each packs a
 * block of x's rows (contiguous floats, kept in L2) and, per group of 4 w rows, those rows as floats
 * (kept in L1, bfloat16 widened once), so the micro-tile reads only arrays. Rows left over from the
 * 4-row tiles, and every row of a product of fewer than PACKED_ROWS rows (a decode step: packing
 * would only add a pass over w), read x and w in place.
 */
final class CpuMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int ROW_BLOCK = 64;
    /** Rows from which packing pays: a packed group of w rows serves at least 4 tiles. */
    private static final int PACKED_ROWS = 16;

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
            boolean packs = rows >= PACKED_ROWS;
            float[] xPack = packs ? new float[Math.min(rows, ROW_BLOCK) * k] : null;   // (block rows, k): the row block of x
            float[] wPack = packs ? new float[4 * k] : null;                           // (4, k): the tile's rows of w
            for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
                int r1 = Math.min(rows, r0 + ROW_BLOCK), full = packs ? r0 + (r1 - r0) / 4 * 4 : r0;   // rows [r0, full) go in 4-row tiles
                for (int r = r0; r < full; r++) MemorySegment.copy(xs, Tensor.F32, ((long) r * xStride + xCol) * 4, xPack, (r - r0) * k, k);
                for (int tile = tileFrom; tile < tileTo; tile++) {
                    int j0 = tile * 4;
                    if (full > r0)
                        for (int j = 0; j < 4; j++) packRow(ws, Math.min(j0 + j, n - 1), k, bf16, wPack, j * k);   // past n: repeats, unused
                    for (int r = r0; r < full; r += 4) tile4x4(xPack, (r - r0) * k, r, wPack, j0, n, k, b, os, lanes);
                    for (int r = full; r < r1; r++) tile1x4(xs, ((long) r * xStride + xCol) * 4, r, ws, j0, n, k, bf16, b, os, lanes);
                }
            }
        });
    }

    /** to[at : at+k] = w's row as floats. */
    private static void packRow(MemorySegment w, long row, int k, boolean bf16, float[] to, int at) {
        if (!bf16) {
            MemorySegment.copy(w, Tensor.F32, row * k * 4, to, at, k);
            return;
        }
        int p = 0;
        for (; p + L <= k; p += L) loadW(w, row, k, p, true).intoArray(to, at + p);
        for (; p < k; p++) to[at + p] = wScalar(w, row, k, p, true);
    }

    /** out rows r..r+3, columns j0..j0+3 (those below n), from x's rows at xAt of x and the packed w rows. */
    private static void tile4x4(float[] x, int xAt, int r, float[] w, int j0, int n, int k, float[] bias, MemorySegment out, float[] lanes) {
        int xa = xAt, xb = xa + k, xc = xb + k, xd = xc + k, wb = k, wc = 2 * k, wd = 3 * k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int kv = k - k % L, p = 0;
        for (; p < kv; p += L) {
            FloatVector wa = FloatVector.fromArray(F, w, p), wB = FloatVector.fromArray(F, w, wb + p);
            FloatVector wC = FloatVector.fromArray(F, w, wc + p), wD = FloatVector.fromArray(F, w, wd + p);
            FloatVector v = FloatVector.fromArray(F, x, xa + p);
            a0 = v.fma(wa, a0); a1 = v.fma(wB, a1); a2 = v.fma(wC, a2); a3 = v.fma(wD, a3);
            v = FloatVector.fromArray(F, x, xb + p);
            b0 = v.fma(wa, b0); b1 = v.fma(wB, b1); b2 = v.fma(wC, b2); b3 = v.fma(wD, b3);
            v = FloatVector.fromArray(F, x, xc + p);
            c0 = v.fma(wa, c0); c1 = v.fma(wB, c1); c2 = v.fma(wC, c2); c3 = v.fma(wD, c3);
            v = FloatVector.fromArray(F, x, xd + p);
            d0 = v.fma(wa, d0); d1 = v.fma(wB, d1); d2 = v.fma(wC, d2); d3 = v.fma(wD, d3);
        }
        a0.intoArray(lanes, 0); a1.intoArray(lanes, L); a2.intoArray(lanes, 2 * L); a3.intoArray(lanes, 3 * L);
        b0.intoArray(lanes, 4 * L); b1.intoArray(lanes, 5 * L); b2.intoArray(lanes, 6 * L); b3.intoArray(lanes, 7 * L);
        c0.intoArray(lanes, 8 * L); c1.intoArray(lanes, 9 * L); c2.intoArray(lanes, 10 * L); c3.intoArray(lanes, 11 * L);
        d0.intoArray(lanes, 12 * L); d1.intoArray(lanes, 13 * L); d2.intoArray(lanes, 14 * L); d3.intoArray(lanes, 15 * L);
        for (int i = 0; i < 4; i++) finish(x, xAt + i * k, r + i, w, j0, n, k, p, bias, out, lanes, 4 * i);
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

    /** Row r's four sums: the accumulators' lanes from `lane`·L on, the columns from p on, the bias; written to out. */
    private static void finish(float[] x, int xa, int r, float[] w, int j0, int n, int k, int p, float[] bias, MemorySegment out,
                               float[] lanes, int lane) {
        for (int j = 0; j < 4 && j0 + j < n; j++) {
            float s = CpuMath.sumLanes(lanes, (lane + j) * L);
            for (int q = p; q < k; q++) s += x[xa + q] * w[j * k + q];
            if (bias != null) s += bias[j0 + j];
            out.setAtIndex(Tensor.F32, (long) r * n + j0 + j, s);
        }
    }
}
