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
import java.nio.ByteOrder;

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
    public void dropout(Tensor x, float p, long seed, Tensor mask) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        float keep = 1f / (1f - p);
        for (long i = 0, n = x.numel(); i < n; i++) {
            float m = rnd.nextFloat() < p ? 0f : keep;
            mask.data().setAtIndex(Tensor.F32, i, m);
            x.data().setAtIndex(Tensor.F32, i, x.data().getAtIndex(Tensor.F32, i) * m);
        }
    }

    @Override
    public void multiplyInPlace(Tensor acc, Tensor x) {
        for (long i = 0, n = acc.numel(); i < n; i++)
            acc.data().setAtIndex(Tensor.F32, i, acc.data().getAtIndex(Tensor.F32, i) * x.data().getAtIndex(Tensor.F32, i));
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
    public void causalConv1dSilu(Tensor in, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        CpuConv.convSilu(par, in, batch, len, weight, bias, convState, out);
    }

    @Override
    public void softplusInPlace(Tensor x) {
        MemorySegment s = x.data();
        long n = x.numel(), chunk = 4096;
        par.forEach((int) ((n + chunk - 1) / chunk), item -> {
            long i = item * chunk, end = Math.min(n, i + chunk);
            for (; i + F.length() <= end; i += F.length())
                CpuMath.softplus(FloatVector.fromMemorySegment(F, s, i * 4, LE)).intoMemorySegment(s, i * 4, LE);
            for (; i < end; i++) s.setAtIndex(Tensor.F32, i, CpuMath.softplus(s.getAtIndex(Tensor.F32, i)));
        });
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        CpuScan.scan(par, x, dt, A, bc, bCol, D, z, zCol, batch, len, state, hOffset, yOffset, y);
    }

    @Override
    public void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                                      int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads grads) {
        CpuScanBackward.backward(par, x, dt, A, bc, bCol, D, z, zCol, batch, len, h0, hOffset, yOffset, dy, grads);
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
    public void causalConv1dSiluBackward(Tensor in, int batch, int len, Tensor weight, Tensor bias, Tensor state0,
                                         Tensor dOut, Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0) {
        CpuBackward.causalConv1dSilu(par, in, batch, len, weight, bias, state0, dOut, dIn, dWeight, dBias, dState0);
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
    public void softplusBackward(Tensor pre, Tensor dOut, Tensor dPre) {
        CpuBackward.softplus(pre, dOut, dPre);
    }

    @Override
    public LossResult crossEntropy(Tensor hidden, Tensor w, int[] targets, float scale, Tensor dHidden, Tensor dW) {
        return CpuCrossEntropy.run(par, hidden, w, targets, scale, dHidden, dW);
    }

    @Override
    public void close() {
        par.close();
        weights.close();
    }
}
