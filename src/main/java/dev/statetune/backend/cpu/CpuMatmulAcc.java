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
 * C (m, n) += A (m, p) · B (p, n), the CPU's GEMM for more than a few rows: the linear layers'
 * forward out = x · wᵀ (B = w read transposed), and their backward dx = dy · W (A = dy, B = W) and
 * dW = dyᵀ · x (A = dy read transposed, B = x). Work items own panels of 2L columns of C (and a
 * share of its rows when there are fewer panels than the cores want). The inner dimension goes in
 * blocks: per block A's rows are packed contiguous once (read along its rows or its columns), then
 * each item packs each of its panels of B (float32 or bfloat16, read either way too) as floats, which
 * stays in L1 while a 4-row × 2-vector register tile passes over every row: broadcasts of A times
 * rows of B, no lane reductions. Sums go in the same order whatever the threads' schedule.
 */
final class CpuMatmulAcc {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length(), PANEL = 2 * L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int INNER_BLOCK = 256;

    /** A strided matrix view: element (i, j) at offset + i·rowStride + j·colStride (in elements). */
    record View(MemorySegment data, DType dtype, long offset, long rowStride, long colStride) {
        float get(long i, long j) {
            long at = offset + i * rowStride + j * colStride;
            return dtype == DType.BF16 ? Float.intBitsToFloat((data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xffff) << 16)
                    : data.getAtIndex(Tensor.F32, at);
        }
    }

    private CpuMatmulAcc() {}

    /** A float32 and B with rowStride or colStride 1; C with colStride 1. */
    static void accumulate(Parallel par, View a, View b, View c, int m, int p, int n) {
        if ((b.colStride != 1 && b.rowStride != 1) || c.colStride != 1)
            throw new IllegalArgumentException("B must be contiguous along its rows or its columns, C along its rows: " + b + ", " + c);
        int panels = (n + PANEL - 1) / PANEL, tiles = (m + 3) / 4, wanted = 2 * par.threads;
        int groups = Math.min(panels, wanted), shares = Math.max(1, Math.min(tiles, (wanted + groups - 1) / groups));
        int packs = Math.min(tiles, wanted);
        float[] aPack = new float[m * Math.min(p, INNER_BLOCK)];   // (m, block): A's rows in the block, shared by the items
        for (int q0 = 0; q0 < p; q0 += INNER_BLOCK) {
            int block = q0, width = Math.min(p, q0 + INNER_BLOCK) - q0;
            par.forEach(packs, item -> packRows(a, block, width, tiles * item / packs * 4, Math.min(m, tiles * (item + 1) / packs * 4), aPack));
            par.forEach(groups * shares, item -> {
                int group = item / shares, share = item % shares;
                int panelFrom = panels * group / groups, panelTo = panels * (group + 1) / groups;
                int from = tiles * share / shares * 4, to = Math.min(m, tiles * (share + 1) / shares * 4);
                float[] bPack = new float[width * PANEL], line = new float[width];   // (block, PANEL): one panel of B in the block
                float[] sums = new float[4 * PANEL];
                for (int panel = panelFrom; panel < panelTo; panel++) {
                    int j = panel * PANEL, cols = Math.min(PANEL, n - j);
                    packPanel(b, block, width, j, cols, bPack, line);
                    for (int i0 = from; i0 < to; i0 += 4) {
                        int rowsHere = Math.min(4, to - i0);
                        tile(aPack, i0 * width, width, rowsHere, bPack, sums);
                        for (int r = 0; r < rowsHere; r++) addRow(sums, r * PANEL, c, i0 + r, j, cols);
                    }
                }
            });
        }
    }

    /**
     * aPack rows [from, to) (each `width` long) = A[i, q0 : q0+width]. A float32 A read along its rows
     * (dy of dx = dy·W) is copied in bulk; one read transposed (dyᵀ of dW = dyᵀ·x) by its stored rows,
     * each copied in bulk and spread over the packed rows.
     */
    private static void packRows(View a, int q0, int width, int from, int to, float[] aPack) {
        if (a.dtype != DType.F32 || (a.colStride != 1 && a.rowStride != 1))
            throw new IllegalArgumentException("A must be float32, contiguous along its rows or its columns: " + a);
        if (a.colStride == 1) {
            for (int i = from; i < to; i++) MemorySegment.copy(a.data, Tensor.F32, (a.offset + i * a.rowStride + q0) * 4, aPack, i * width, width);
            return;
        }
        float[] stored = new float[to - from];   // A[from : to, q] as it lies
        for (int q = 0; q < width; q++) {
            MemorySegment.copy(a.data, Tensor.F32, (a.offset + (q0 + q) * a.colStride + from) * 4, stored, 0, to - from);
            for (int i = from; i < to; i++) aPack[i * width + q] = stored[i - from];
        }
    }

    /** C[i, j : j+cols] += sums[at : at+cols]. */
    private static void addRow(float[] sums, int at, View c, int i, int j, int cols) {
        long to = (c.offset + i * c.rowStride + j) * 4;
        if (cols == PANEL)
            for (int h = 0; h < PANEL; h += L)
                FloatVector.fromArray(F, sums, at + h).add(FloatVector.fromMemorySegment(F, c.data, to + h * 4L, LE))
                        .intoMemorySegment(c.data, to + h * 4L, LE);
        else
            for (int h = 0; h < cols; h++) c.data.set(Tensor.F32, to + h * 4L, c.data.get(Tensor.F32, to + h * 4L) + sums[at + h]);
    }

    /**
     * bPack (width, PANEL) = B[q0 : q0+width, j : j+cols] as floats, zeros past cols. A B stored transposed
     * (w of out = x·wᵀ) is read by its stored rows into `line` and spread over the panel's columns.
     */
    private static void packPanel(View b, int q0, int width, int j, int cols, float[] bPack, float[] line) {
        boolean bf16 = b.dtype == DType.BF16;
        if (b.colStride != 1) {
            java.util.Arrays.fill(bPack, 0, width * PANEL, 0f);
            for (int h = 0; h < cols; h++) {
                long at = b.offset + (j + h) * b.colStride + q0;
                int q = 0;
                for (; q + L <= width; q += L) loadB(b.data, at + q, bf16).intoArray(line, q);
                for (; q < width; q++) line[q] = b.get(q0 + q, j + h);
                for (q = 0; q < width; q++) bPack[q * PANEL + h] = line[q];
            }
            return;
        }
        for (int q = 0; q < width; q++) {
            long at = b.offset + (q0 + q) * b.rowStride + j;
            if (cols == PANEL) {
                loadB(b.data, at, bf16).intoArray(bPack, q * PANEL);
                loadB(b.data, at + L, bf16).intoArray(bPack, q * PANEL + L);
            } else
                for (int h = 0; h < PANEL; h++) bPack[q * PANEL + h] = h < cols ? b.get(q0 + q, j + h) : 0f;
        }
    }

    private static FloatVector loadB(MemorySegment b, long at, boolean bf16) {
        if (!bf16) return FloatVector.fromMemorySegment(F, b, at * 4, LE);
        return ShortVector.fromMemorySegment(S, b, at * 2, LE)
                .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * sums (4, PANEL) = aPack's rows at `at` (rowsHere of them, each `width` long; missing rows repeat the
     * last, their sums unused) · bPack (width, PANEL).
     */
    private static void tile(float[] aPack, int at, int width, int rowsHere, float[] bPack, float[] sums) {
        int ra = at, rb = at + Math.min(1, rowsHere - 1) * width, rc = at + Math.min(2, rowsHere - 1) * width, rd = at + (rowsHere - 1) * width;
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int q = 0; q < width; q++) {
            FloatVector b0 = FloatVector.fromArray(F, bPack, q * PANEL), b1 = FloatVector.fromArray(F, bPack, q * PANEL + L);
            FloatVector a0 = FloatVector.broadcast(F, aPack[ra + q]), a1 = FloatVector.broadcast(F, aPack[rb + q]);
            FloatVector a2 = FloatVector.broadcast(F, aPack[rc + q]), a3 = FloatVector.broadcast(F, aPack[rd + q]);
            c00 = b0.fma(a0, c00); c01 = b1.fma(a0, c01);
            c10 = b0.fma(a1, c10); c11 = b1.fma(a1, c11);
            c20 = b0.fma(a2, c20); c21 = b1.fma(a2, c21);
            c30 = b0.fma(a3, c30); c31 = b1.fma(a3, c31);
        }
        c00.intoArray(sums, 0); c01.intoArray(sums, L);
        c10.intoArray(sums, 2 * L); c11.intoArray(sums, 3 * L);
        c20.intoArray(sums, 4 * L); c21.intoArray(sums, 5 * L);
        c30.intoArray(sums, 6 * L); c31.intoArray(sums, 7 * L);
    }
}
