package dev.statetune.backend.cpu;

import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.ScanGrads;
import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The CPU backend: float32 compute on the Java heap, weights read in place from the checkpoint's
 * mapping (F32, BF16; F16 is converted once off-heap), work split over a thread pool, the GEMM
 * and the scan vectorised with the Vector API (this package is its only user).
 */
public final class CpuBackend implements Backend {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private final Parallel par;
    private final Arena weights = Arena.ofShared();

    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public int threads() { return par.threads; }

    Parallel parallel() { return par; }

    @Override public String name() { return "cpu (" + par.threads + " threads)"; }

    @Override
    public Tensor allocate(long... shape) {
        return Tensor.zeros(shape);
    }

    @Override
    public Tensor prepareWeight(Tensor stored) {
        return stored.dtype() == DType.F32 || stored.dtype() == DType.BF16 ? stored : stored.toF32(weights);
    }

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        int d = (int) table.size(1);
        MemorySegment o = out.data();
        par.forEach(ids.length, t -> {
            long base = (long) ids[t] * d;
            for (int c = 0; c < d; c++) o.setAtIndex(Tensor.F32, (long) t * d + c, table.getFloat(base + c));
        });
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        int rows = (int) x.size(0), d = (int) x.size(1);
        float[] w = weight.toFloatArray();
        MemorySegment xs = x.data(), os = out.data();
        par.forEach(rows, t -> {
            long base = (long) t * d;
            double sum = 0;
            for (int c = 0; c < d; c++) {
                float v = xs.getAtIndex(Tensor.F32, base + c);
                sum += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(sum / d + eps));
            for (int c = 0; c < d; c++) os.setAtIndex(Tensor.F32, base + c, w[c] * (xs.getAtIndex(Tensor.F32, base + c) * inv));
        });
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        MemorySegment.copy(src.data(), 0, dst.data(), 0, src.data().byteSize());
    }

    @Override
    public void copyColumns(Tensor src, int col, Tensor dst) {
        int rows = (int) dst.size(0), w = (int) dst.size(1), stride = (int) src.size(1);
        for (int t = 0; t < rows; t++)
            MemorySegment.copy(src.data(), ((long) t * stride + col) * 4, dst.data(), (long) t * w * 4, (long) w * 4);
    }

    @Override
    public void addScaledColumns(Tensor dst, int col, Tensor src, float scale) {
        int rows = (int) src.size(0), w = (int) src.size(1), stride = (int) dst.size(1);
        for (int t = 0; t < rows; t++)
            for (int j = 0; j < w; j++) {
                long at = (long) t * stride + col + j;
                dst.data().setAtIndex(Tensor.F32, at, dst.data().getAtIndex(Tensor.F32, at) + scale * src.data().getAtIndex(Tensor.F32, (long) t * w + j));
            }
    }

    @Override
    public void dropout(Tensor src, int col, float p, Tensor seed, long salt, Tensor out, Tensor mask) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed.getLong(0) + salt);
        float keep = 1f / (1f - p);
        long w = out.size(1), stride = src.size(1);
        for (long i = 0, n = out.numel(); i < n; i++) {
            float m = rnd.nextFloat() < p ? 0f : keep;
            if (mask != null) mask.data().setAtIndex(Tensor.F32, i, m);
            out.data().setAtIndex(Tensor.F32, i, src.data().getAtIndex(Tensor.F32, i / w * stride + col + i % w) * m);
        }
    }

    @Override
    public void multiplyInPlace(Tensor acc, Tensor x) {
        for (long i = 0, n = acc.numel(); i < n; i++)
            acc.data().setAtIndex(Tensor.F32, i, acc.data().getAtIndex(Tensor.F32, i) * x.data().getAtIndex(Tensor.F32, i));
    }

    @Override
    public void negExp(Tensor src, Tensor dst) {
        for (long i = 0, n = src.numel(); i < n; i++) dst.data().setAtIndex(Tensor.F32, i, (float) -Math.exp(src.getFloat(i)));
    }

    @Override
    public void addInPlace(Tensor acc, Tensor x) {
        MemorySegment a = acc.data(), b = x.data();
        long i = 0, n = acc.numel();
        for (; i + F.length() <= n; i += F.length())
            FloatVector.fromMemorySegment(F, a, i * 4, LE).add(FloatVector.fromMemorySegment(F, b, i * 4, LE)).intoMemorySegment(a, i * 4, LE);
        for (; i < n; i++) a.setAtIndex(Tensor.F32, i, a.getAtIndex(Tensor.F32, i) + b.getAtIndex(Tensor.F32, i));
    }

    @Override
    public void linear(Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        CpuMatmul.linear(par, x, xCol, w, bias, out);
    }

    @Override
    public void causalConv1dSilu(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        CpuConv.convSilu(par, in, inCol, batch, len, weight, bias, convState, out);
    }

    /** softplus(dtRaw): the step sizes the selective scan runs on. */
    private Tensor softplus(Tensor dtRaw) {
        Tensor x = Tensor.zeros(dtRaw.shape());
        MemorySegment s = x.data();
        MemorySegment.copy(dtRaw.data(), 0, s, 0, s.byteSize());
        long n = x.numel(), chunk = 4096;
        par.forEach((int) ((n + chunk - 1) / chunk), item -> {
            long i = item * chunk, end = Math.min(n, i + chunk);
            for (; i + F.length() <= end; i += F.length())
                CpuMath.softplus(FloatVector.fromMemorySegment(F, s, i * 4, LE)).intoMemorySegment(s, i * 4, LE);
            for (; i < end; i++) s.setAtIndex(Tensor.F32, i, CpuMath.softplus(s.getAtIndex(Tensor.F32, i)));
        });
        return x;
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        CpuScan.scan(par, x, softplus(dt), A, bc, bCol, D, z, zCol, batch, len, state, hOffset, yOffset, y);
    }

    @Override
    public void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                                      int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads grads) {
        zero(grads.dx());   // written, not accumulated (ScanGrads)
        if (grads.ddt() != null) zero(grads.ddt());
        Tensor ddt = grads.ddt() == null ? null : Tensor.zeros(dt.shape());   // with respect to softplus(dt), then through it
        CpuScanBackward.backward(par, x, softplus(dt), A, bc, bCol, D, z, zCol, batch, len, h0, hOffset, yOffset, dy,
                new ScanGrads(grads.dx(), ddt, grads.dbc(), grads.dz(), grads.dA(), grads.dD(), grads.dh0(), grads.dhOffset(), grads.dyOffset()));
        if (ddt != null) CpuBackward.softplus(dt, ddt, grads.ddt());
    }

    @Override
    public void ssdScan(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                        SsdDims dims, int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        CpuSsdScan.scan(par, xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, dims, batch, len, state, hOffset, yOffset, y);
    }

    @Override
    public void gatedRmsNorm(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor out) {
        int rows = (int) y.size(0), w = (int) y.size(1), zStride = (int) z.size(1);
        float[] g = weight.toFloatArray();
        MemorySegment ys = y.data(), zs = z.data(), os = out.data();
        par.forEach(rows, t -> {
            float[] v = new float[w];
            for (int c = 0; c < w; c++)
                v[c] = ys.getAtIndex(Tensor.F32, (long) t * w + c) * CpuMath.silu(zs.getAtIndex(Tensor.F32, (long) t * zStride + zCol + c));
            for (int c0 = 0; c0 < w; c0 += groupSize) {
                double sum = 0;
                for (int c = c0; c < c0 + groupSize; c++) sum += v[c] * v[c];
                float inv = (float) (1.0 / Math.sqrt(sum / groupSize + eps));
                for (int c = c0; c < c0 + groupSize; c++) os.setAtIndex(Tensor.F32, (long) t * w + c, g[c] * (v[c] * inv));
            }
        });
    }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, Tensor dTable) {
        int d = (int) dTable.size(1);
        for (int t = 0; t < ids.length; t++)
            for (int c = 0; c < d; c++) {
                long at = (long) ids[t] * d + c;
                dTable.data().setAtIndex(Tensor.F32, at, dTable.data().getAtIndex(Tensor.F32, at) + dOut.data().getAtIndex(Tensor.F32, (long) t * d + c));
            }
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, float eps, Tensor dOut, Tensor dx, Tensor dWeight) {
        CpuBackward.rmsNorm(x, weight, eps, dOut, dx, dWeight);
    }

    @Override
    public void linearBackward(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, Tensor dW, Tensor dBias) {
        CpuBackward.linear(par, x, xCol, w, dOut, dx, dxCol, dW, dBias);
    }

    @Override
    public void causalConv1dSiluBackward(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor state0,
                                         Tensor dOut, Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0) {
        CpuBackward.causalConv1dSilu(par, in, inCol, batch, len, weight, bias, state0, dOut, dIn, dWeight, dBias, dState0);
    }

    @Override
    public void ssdScanBackward(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                                SsdDims dims, int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, SsdGrads grads) {
        CpuSsdScanBackward.backward(par, xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, dims, batch, len, h0, hOffset, yOffset, dy, grads);
    }

    @Override
    public void gatedRmsNormBackward(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor dOut,
                                     Tensor dy, Tensor dz, Tensor dWeight) {
        CpuBackward.gatedRmsNorm(par, y, z, zCol, weight, groupSize, eps, dOut, dy, dz, dWeight);
    }


    @Override
    public void crossEntropy(Tensor hidden, Tensor w, int[] targets, Tensor dHidden, Tensor dW, Tensor sums) {
        LossResult r = CpuCrossEntropy.run(par, hidden, w, targets, dHidden, dW);
        double[] add = {r.lossSum(), r.targets(), r.correct(), r.meanLoss()};
        for (int i = 0; i < add.length; i++) addTo(sums, i, add[i]);
    }

    @Override
    public Tensor allocateSums(int n) {
        return new Tensor(MemorySegment.ofArray(new double[n]), DType.F64, n);
    }

    private static void addTo(Tensor sums, int i, double value) {
        sums.data().setAtIndex(ValueLayout.JAVA_DOUBLE, i, sums.getDouble(i) + value);
    }

    /** Elementwise optimizer work goes in blocks of this many elements, one task each. */
    private static final int BLOCK = 1 << 16;

    @Override
    public void adamwStep(Tensor x, Tensor g, Tensor m, Tensor v, AdamWStep s) {
        MemorySegment xs = x.data(), gs = g.data(), ms = m.data(), vs = v.data();
        float decay = s.schedule().getFloat(0), stepSize = s.schedule().getFloat(1), bc2 = s.schedule().getFloat(2);
        inBlocks(x.numel(), (from, to) -> {
            for (long i = from; i < to; i++) {
                float xi = xs.getAtIndex(Tensor.F32, i), gi = gs.getAtIndex(Tensor.F32, i);
                if (s.decays()) xi *= decay;
                float mi = lerp(ms.getAtIndex(Tensor.F32, i), gi, s.w1()), vi = vs.getAtIndex(Tensor.F32, i) * s.b2() + s.w2() * gi * gi;
                xi -= stepSize * (mi / ((float) Math.sqrt(vi) / bc2 + s.eps()));
                xs.setAtIndex(Tensor.F32, i, xi);
                ms.setAtIndex(Tensor.F32, i, mi);
                vs.setAtIndex(Tensor.F32, i, vi);
            }
        });
    }

    /** torch.lerp's formula: which end it starts from depends on the weight, for accuracy near 1. */
    private static float lerp(float start, float end, float weight) {
        return weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1 - weight);
    }

    @Override
    public void sgdStep(Tensor x, Tensor g, Tensor learningRate, float wd) {
        MemorySegment xs = x.data(), gs = g.data();
        float lr = learningRate.getFloat(0);
        inBlocks(x.numel(), (from, to) -> {
            for (long i = from; i < to; i++) {
                float xi = xs.getAtIndex(Tensor.F32, i), gi = gs.getAtIndex(Tensor.F32, i);
                xs.setAtIndex(Tensor.F32, i, xi - lr * (wd != 0 ? gi + wd * xi : gi));
            }
        });
    }

    /** Summed per block of BLOCK elements, the blocks then added in order: the same result on any number of threads. */
    @Override
    public void sumOfSquares(List<Tensor> tensors, Tensor into) {
        double sum = 0;
        for (Tensor t : tensors) {
            MemorySegment d = t.data();
            long n = t.numel();
            double[] partial = new double[(int) Math.max(1, (n + BLOCK - 1) / BLOCK)];
            inBlocks(n, (from, to) -> {
                double s = 0;
                for (long i = from; i < to; i++) {
                    float v = d.getAtIndex(Tensor.F32, i);
                    s += (double) v * v;
                }
                partial[(int) (from / BLOCK)] = s;
            });
            for (double s : partial) sum += s;
        }
        addTo(into, 0, sum);
    }

    @Override
    public void clipToNorm(List<Tensor> tensors, Tensor sumOfSquares, double maxNorm) {
        double norm = Math.sqrt(sumOfSquares.getDouble(0));
        double coef = maxNorm / (norm + 1e-6);
        if (Double.isFinite(norm) && coef < 1) for (Tensor t : tensors) scaleInPlace(t, (float) coef);
    }

    @Override
    public void scaleInPlace(Tensor t, float c) {
        MemorySegment d = t.data();
        inBlocks(t.numel(), (from, to) -> {
            for (long i = from; i < to; i++) d.setAtIndex(Tensor.F32, i, d.getAtIndex(Tensor.F32, i) * c);
        });
    }

    @Override
    public void zero(Tensor t) {
        t.data().fill((byte) 0);
    }

    private interface Range {
        void run(long from, long to);
    }

    /** range.run over [0, n) in blocks of BLOCK, on the pool when there is more than one (full fine-tuning's parameters). */
    private void inBlocks(long n, Range range) {
        int blocks = Math.toIntExact((n + BLOCK - 1) / BLOCK);
        if (blocks <= 1) range.run(0, n);
        else par.forEach(blocks, b -> range.run((long) b * BLOCK, Math.min(n, (long) (b + 1) * BLOCK)));
    }

    @Override
    public void close() {
        par.close();
        weights.close();
    }
}
