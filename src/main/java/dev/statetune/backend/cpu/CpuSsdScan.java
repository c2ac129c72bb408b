package dev.statetune.backend.cpu;

import dev.statetune.backend.SsdDims;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-2 SSD scan on the CPU in its chunked form (the SSD paper's block decomposition, as
 * transformers' `torch_forward` writes it): inside a chunk, y_i = Σ_{j≤i} exp(Σ_{j<k≤i} a_k)·(C_i·B_j)·dt_j x_j
 * (the quadratic, attention-like part) plus the state entering the chunk read out with its decay
 * exp(Σ_{k≤i} a_k)·C_i·h; then the state is passed on. Equal to the recurrence (a_t = dt_t·A_h).
 * The Gram matrices C_i·B_j, shared by a group's heads, are computed first per (sequence, group,
 * chunk); then the work items are (sequence, head). The head's state is held transposed,
 * (n, headDim), so that every update is an axpy: vectorised, no lane reductions, JIT-tier independent.
 */
final class CpuSsdScan {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private CpuSsdScan() {}

    static void scan(Parallel par, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax,
                     Tensor A, Tensor D, SsdDims dims, int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), q = dims.chunkSize();
        int di = dims.innerDim(), conv = dims.convDim(), dtStride = (int) dtRaw.size(1);
        float[] a = A.toFloatArray(), d = D.toFloatArray(), bias = dtBias.toFloatArray();   // (nh)
        float[] hOff = hOffset == null ? null : hOffset.toFloatArray();                      // (nh, p, n)
        float[] yOff = yOffset == null ? null : yOffset.toFloatArray();                      // (nh, p)
        MemorySegment xs = xBC.data(), dts = dtRaw.data(), hs = state.data(), ys = y.data();
        int chunks = (len + q - 1) / q, ng = dims.nGroups();
        float[][] grams = new float[batch * ng * chunks][];     // [(s, g, chunk)] (l, l): C_i·B_j for j ≤ i
        par.forEach(grams.length, item -> grams[item] = gram(xs, dims, item / (ng * chunks), item / chunks % ng,
                item % chunks * q, Math.min(q, len - item % chunks * q), len));
        par.forEach(batch * nh, item -> {
            int s = item / nh, h = item % nh, g = dims.group(h);
            int bCol = di + g * n;
            long stateAt = ((long) s * nh + h) * p * n;
            float[] hT = new float[n * p];                              // (n, p) the head's state
            for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) hT[k * p + i] = hs.getAtIndex(Tensor.F32, stateAt + (long) i * n + k);
            float[] offT = hOff == null ? null : transposedHead(hOff, h, p, n);   // (n, p)
            float[] x = new float[q * p], xdt = new float[q * p];       // (Q, p) x_j and dt_j·x_j
            float[] bT = new float[n * q], c = new float[q * n];        // (n, Q) B transposed, (Q, n) C
            float[] at = new float[q], cum = new float[q];              // (Q) a_j = dt_j·A_h and Σ_{k≤j} a_k
            float[] out = new float[p];                                 // (p) y_i
            for (int t0 = 0; t0 < len; t0 += q) {
                int l = Math.min(q, len - t0);
                float[] gram = grams[(s * ng + g) * chunks + t0 / q];  // (l, l)
                float run = 0;
                for (int j = 0; j < l; j++) {
                    long row = (long) s * len + t0 + j;
                    float dt = CpuMath.softplus(dts.getAtIndex(Tensor.F32, row * dtStride + dtCol + h) + bias[h]);
                    dt = Math.min(Math.max(dt, dtMin), dtMax);
                    at[j] = dt * a[h];
                    cum[j] = run += at[j];
                    MemorySegment.copy(xs, Tensor.F32, (row * conv + (long) h * p) * 4, x, j * p, p);
                    for (int i = 0; i < p; i++) xdt[j * p + i] = x[j * p + i] * dt;
                    for (int k = 0; k < n; k++) bT[k * q + j] = xs.getAtIndex(Tensor.F32, row * conv + bCol + k);
                    MemorySegment.copy(xs, Tensor.F32, (row * conv + bCol + (long) ng * n) * 4, c, j * n, n);
                }
                for (int i = 0; i < l; i++) {
                    java.util.Arrays.fill(out, 0f);
                    for (int k = 0; k < n; k++) axpy(c[i * n + k], hT, k * p, out, 0, p);
                    float decay = CpuMath.exp(cum[i]);
                    for (int e = 0; e < p; e++) out[e] *= decay;
                    if (offT != null) for (int k = 0; k < n; k++) axpy(c[i * n + k], offT, k * p, out, 0, p);
                    float seg = 0;                                      // Σ_{j<k≤i} a_k
                    for (int j = i; j >= 0; j--) {
                        axpy(CpuMath.exp(seg) * gram[i * l + j], xdt, j * p, out, 0, p);
                        seg += at[j];
                    }
                    for (int e = 0; e < p; e++) out[e] += d[h] * x[i * p + e] + (yOff == null ? 0f : yOff[h * p + e]);
                    MemorySegment.copy(out, 0, ys, Tensor.F32, (((long) s * len + t0 + i) * di + (long) h * p) * 4, p);
                }
                float total = CpuMath.exp(cum[l - 1]), seg = 0;
                for (int e = 0; e < hT.length; e++) hT[e] *= total;
                for (int j = l - 1; j >= 0; j--) {
                    float w = CpuMath.exp(seg);
                    for (int k = 0; k < n; k++) axpy(w * bT[k * q + j], xdt, j * p, hT, k * p, p);
                    seg += at[j];
                }
            }
            for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) hs.setAtIndex(Tensor.F32, stateAt + (long) i * n + k, hT[k * p + i]);
        });
    }

    /** (l, l): row i holds C_i·B_j for j ≤ i, of group g over positions [t0, t0+l) of sequence s. */
    private static float[] gram(MemorySegment xs, SsdDims dims, int s, int g, int t0, int l, int len) {
        int n = dims.stateDim(), conv = dims.convDim(), bCol = dims.innerDim() + g * n, cCol = bCol + dims.nGroups() * n;
        float[] bT = new float[n * l], c = new float[n], gram = new float[l * l];   // (n, l) B transposed, (n) C_i
        for (int j = 0; j < l; j++)
            for (int k = 0; k < n; k++) bT[k * l + j] = xs.getAtIndex(Tensor.F32, ((long) s * len + t0 + j) * conv + bCol + k);
        for (int i = 0; i < l; i++) {
            MemorySegment.copy(xs, Tensor.F32, (((long) s * len + t0 + i) * conv + cCol) * 4, c, 0, n);
            for (int k = 0; k < n; k++) axpy(c[k], bT, k * l, gram, i * l, i + 1);
        }
        return gram;
    }

    /** Head h of a (nHeads, p, n) array as (n, p). */
    private static float[] transposedHead(float[] v, int h, int p, int n) {
        float[] t = new float[n * p];
        for (int i = 0; i < p; i++) for (int k = 0; k < n; k++) t[k * p + i] = v[(h * p + i) * n + k];
        return t;
    }

    /** y[yo, yo+len) += alpha · x[xo, xo+len), fused multiply-adds in the vector and the tail alike. */
    private static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int len) {
        int i = 0;
        FloatVector av = FloatVector.broadcast(F, alpha);
        for (; i + F.length() <= len; i += F.length())
            av.fma(FloatVector.fromArray(F, x, xo + i), FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        for (; i < len; i++) y[yo + i] = Math.fma(alpha, x[xo + i], y[yo + i]);
    }
}
