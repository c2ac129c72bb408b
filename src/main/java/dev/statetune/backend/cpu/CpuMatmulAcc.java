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
 * contiguous and vectorised: a 4-row × 2-vector register tile, threads split the rows of C, and the
 * inner dimension is cut into blocks so that a block of B is reused from cache by every row of A.
 */
final class CpuMatmulAcc {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
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

    /** B and C must have colStride 1. */
    static void accumulate(Parallel par, View a, View b, View c, int m, int p, int n) {
        int tiles = (m + 3) / 4;
        int chunks = Math.min(tiles, par.threads * 4);
        boolean bf16 = b.dtype == DType.BF16;
        par.forEach(chunks, chunk -> {
            int from = (int) ((long) tiles * chunk / chunks) * 4, to = Math.min(m, (int) ((long) tiles * (chunk + 1) / chunks) * 4);
            float[] aPack = new float[4 * INNER_BLOCK];   // (4, block): rows of A in the current inner block, contiguous
            float[] sums = new float[4 * 2 * L];
            for (int q0 = 0; q0 < p; q0 += INNER_BLOCK) {   // B's rows q0..q1 stay in cache while every row block of A passes
                int q1 = Math.min(p, q0 + INNER_BLOCK), width = q1 - q0;
                for (int i0 = from; i0 < to; i0 += 4) {
                    int rowsHere = Math.min(4, to - i0);
                    for (int r = 0; r < 4; r++)   // missing rows repeat the last one; their sums are not stored
                        for (int q = 0; q < width; q++) aPack[r * width + q] = a.get(i0 + Math.min(r, rowsHere - 1), q0 + q);
                    int j = 0;
                    for (; j + 2 * L <= n; j += 2 * L) {
                        tile(aPack, width, b.data, b.offset + q0 * b.rowStride + j, b.rowStride, bf16, sums);
                        for (int r = 0; r < rowsHere; r++)
                            for (int h = 0; h < 2 * L; h++) {
                                long at = c.offset + (i0 + r) * c.rowStride + j + h;
                                c.data.setAtIndex(Tensor.F32, at, c.data.getAtIndex(Tensor.F32, at) + sums[r * 2 * L + h]);
                            }
                    }
                    for (; j < n; j++)
                        for (int r = 0; r < rowsHere; r++) {
                            float s = 0;
                            for (int q = 0; q < width; q++) s += aPack[r * width + q] * b.get(q0 + q, j);
                            long at = c.offset + (i0 + r) * c.rowStride + j;
                            c.data.setAtIndex(Tensor.F32, at, c.data.getAtIndex(Tensor.F32, at) + s);
                        }
                }
            }
        });
    }

    private static FloatVector loadB(MemorySegment b, long at, boolean bf16) {
        if (!bf16) return FloatVector.fromMemorySegment(F, b, at * 4, LE);
        return ShortVector.fromMemorySegment(S, b, at * 2, LE)
                .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** sums (4, 2L) = aPack (4, p) · B[:, col : col+2L] over the whole inner dimension. */
    private static void tile(float[] aPack, int p, MemorySegment b, long col, long bStride, boolean bf16, float[] sums) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        for (int q = 0; q < p; q++) {
            long at = col + q * bStride;
            FloatVector b0 = loadB(b, at, bf16), b1 = loadB(b, at + L, bf16);
            FloatVector a0 = FloatVector.broadcast(F, aPack[q]), a1 = FloatVector.broadcast(F, aPack[p + q]);
            FloatVector a2 = FloatVector.broadcast(F, aPack[2 * p + q]), a3 = FloatVector.broadcast(F, aPack[3 * p + q]);
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
