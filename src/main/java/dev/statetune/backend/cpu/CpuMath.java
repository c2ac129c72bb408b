package dev.statetune.backend.cpu;

import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Elementwise math of the CPU backend, written so that every result is the same bits whether the
 * JIT has compiled the code or not: the Vector API's own EXP and reduceLanes(ADD) give different
 * last bits in the interpreter and in C2, which would break "a fixed seed gives identical runs"
 * and bit-exact resumes. Only IEEE-exact operations (add, mul, fma, conversions, shuffles) are
 * used, lanes are summed left to right, and the scalar exp is the vector one's algorithm lane by
 * lane, so the two agree too.
 */
final class CpuMath {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.withShape(F.vectorShape());
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693145752f, LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f;            // 1.5·2²³: adding it rounds to an integer
    private static final float MIN_ARG = -87.3f, MAX_ARG = 88.7f;
    // e^r on |r| ≤ ln2/2: Taylor coefficients 1/6! … 1/2!, 1, 1 (max relative error ~2e-7)
    private static final float C6 = 1.3888889e-3f, C5 = 8.3333333e-3f, C4 = 4.1666667e-2f, C3 = 1.6666667e-1f, C2 = 0.5f;
    private CpuMath() {}

    static float exp(float x) {
        x = Math.min(Math.max(x, MIN_ARG), MAX_ARG);
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(-n, LN2_LO, Math.fma(-n, LN2_HI, x));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(C6, r, C5), r, C4), r, C3), r, C2), r, 1f), r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    static FloatVector exp(FloatVector x) {
        x = x.max(MIN_ARG).min(MAX_ARG);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.neg().fma(FloatVector.broadcast(F, LN2_LO), n.neg().fma(FloatVector.broadcast(F, LN2_HI), x));
        FloatVector p = FloatVector.broadcast(F, C6).fma(r, FloatVector.broadcast(F, C5)).fma(r, FloatVector.broadcast(F, C4))
                .fma(r, FloatVector.broadcast(F, C3)).fma(r, FloatVector.broadcast(F, C2))
                .fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
        IntVector bits = ((IntVector) n.convertShape(VectorOperators.F2I, I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /**
     * Σ a[from .. from+L), left to right: the lanes of an accumulator stored with intoArray. (The
     * Vector API's reduceLanes adds in a different order in the interpreter and in C2; a helper
     * taking a vector argument is not reliably inlined into a large kernel, which boxes it.)
     */
    static float sumLanes(float[] a, int from) {
        float s = 0;
        for (int i = from; i < from + F.length(); i++) s += a[i];
        return s;
    }

    /**
     * Copies the (rows, n) float32 values at element `at` of m into `into` as rows np long (np ≥ n,
     * whole vectors): the scans pad their state dimension so that every vector is whole. The rest of
     * each row is left as it is (zeros in a new array). Returns `into`.
     */
    static float[] paddedRows(MemorySegment m, long at, int rows, int n, int np, float[] into) {
        for (int i = 0; i < rows; i++) MemorySegment.copy(m, Tensor.F32, (at + (long) i * n) * 4, into, i * np, n);
        return into;
    }

    static float sigmoid(float v) {
        return 1f / (1f + exp(-v));
    }

    static float silu(float v) {
        return v / (1f + exp(-v));
    }

    static FloatVector silu(FloatVector v) {
        return v.div(exp(v.neg()).add(1f));
    }

    /**
     * torch.nn.functional.softplus with its default threshold (x > 20 stays x), as
     * max(x, 0) + log1p(e^−|x|), where log1p(u) = 2·atanh(s) with s = u/(2+u) ≤ 1/3, whose odd
     * series to s¹³ is exact to float precision.
     */
    static float softplus(float x) {
        if (x > 20f) return x;
        float u = exp(-Math.abs(x)), s = u / (2f + u), s2 = s * s;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(T13, s2, T11), s2, T9), s2, T7), s2, T5), s2, T3), s2, 2f);
        return Math.max(x, 0f) + s * p;
    }

    static FloatVector softplus(FloatVector x) {
        FloatVector u = exp(x.abs().neg()), s = u.div(u.add(2f)), s2 = s.mul(s);
        FloatVector p = FloatVector.broadcast(F, T13).fma(s2, FloatVector.broadcast(F, T11)).fma(s2, FloatVector.broadcast(F, T9))
                .fma(s2, FloatVector.broadcast(F, T7)).fma(s2, FloatVector.broadcast(F, T5)).fma(s2, FloatVector.broadcast(F, T3))
                .fma(s2, FloatVector.broadcast(F, 2f));
        return x.max(0f).add(s.mul(p)).blend(x, x.compare(VectorOperators.GT, 20f));
    }

    private static final float T3 = 2f / 3, T5 = 2f / 5, T7 = 2f / 7, T9 = 2f / 9, T11 = 2f / 11, T13 = 2f / 13;
}
