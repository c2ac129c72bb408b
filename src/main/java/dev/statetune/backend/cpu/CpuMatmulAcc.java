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
 * C (m, n) += A (m, p) · B (p, n), the GEMM of the linear layers' backward: dx = dy · W
 * (A = dy, B = W) and dW = dyᵀ · x (A = dy read transposed, B = x). A is read one element at a
 * time through its two strides and broadcast; B rows (float32 or bfloat16) and C rows are
 * contiguous and vectorised: a 4-row × 2-vector register tile, threads split the rows of C.
 */
final class CpuMatmulAcc {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** A strided matrix view: element (i, j) at offset + i·rowStride + j·colStride (in elements). */
    record View(MemorySegment data, DType dtype, long offset, long rowStride, long colStride) {
        float get(long i, long j) {
            long at = offset + i * rowStride + j * colStride;
            return dtype == DType.BF16 ? Float.intBitsToFloat((data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xffff) << 16)
                    : data.getAtIndex(Tensor.F32, at);
        }
    }

    private CpuMatmulAcc() {}

    /** B and C must have colStride 1. */
    static void accumulate(Parallel par, View a, View b, View c, int m, int p, int n) {
        int tiles = (m + 3) / 4;
        int chunks = Math.min(tiles, par.threads * 4);
        par.forEach(chunks, chunk -> {
            int from = (int) ((long) tiles * chunk / chunks) * 4, to = Math.min(m, (int) ((long) tiles * (chunk + 1) / chunks) * 4);
            for (int i0 = from; i0 < to; i0 += 4) {
                int rowsHere = Math.min(4, to - i0);
                int j = 0;
                for (; j + 2 * L <= n; j += 2 * L) tile(a, b, c, i0, rowsHere, j, p);
                for (; j < n; j++)
                    for (int i = i0; i < i0 + rowsHere; i++) {
                        float s = 0;
                        for (int q = 0; q < p; q++) s += a.get(i, q) * b.get(q, j);
                        long at = c.offset + i * c.rowStride + j;
                        c.data.setAtIndex(Tensor.F32, at, c.data.getAtIndex(Tensor.F32, at) + s);
                    }
            }
        });
    }

    private static FloatVector loadB(View b, int q, int j) {
        long at = b.offset + q * b.rowStride + j;
        if (b.dtype == DType.F32) return FloatVector.fromMemorySegment(F, b.data, at * 4, LE);
        return (FloatVector) ShortVector.fromMemorySegment(S, b.data, at * 2, LE)
                .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Rows i0..i0+rows (rows ≤ 4) × columns j..j+2L of C, over the whole inner dimension. */
    private static void tile(View a, View b, View c, int i0, int rows, int j, int p) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int r1 = Math.min(i0 + 1, i0 + rows - 1), r2 = Math.min(i0 + 2, i0 + rows - 1), r3 = Math.min(i0 + 3, i0 + rows - 1);
        for (int q = 0; q < p; q++) {
            FloatVector b0 = loadB(b, q, j), b1 = loadB(b, q, j + L);
            FloatVector a0 = FloatVector.broadcast(F, a.get(i0, q)), a1 = FloatVector.broadcast(F, a.get(r1, q));
            FloatVector a2 = FloatVector.broadcast(F, a.get(r2, q)), a3 = FloatVector.broadcast(F, a.get(r3, q));
            c00 = b0.fma(a0, c00); c01 = b1.fma(a0, c01);
            c10 = b0.fma(a1, c10); c11 = b1.fma(a1, c11);
            c20 = b0.fma(a2, c20); c21 = b1.fma(a2, c21);
            c30 = b0.fma(a3, c30); c31 = b1.fma(a3, c31);
        }
        FloatVector[][] acc = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
        for (int i = 0; i < rows; i++)
            for (int h = 0; h < 2; h++) {
                long at = (c.offset + (i0 + i) * c.rowStride + j + h * L) * 4;
                FloatVector.fromMemorySegment(F, c.data, at, LE).add(acc[i][h]).intoMemorySegment(c.data, at, LE);
            }
    }
}
