package dev.statetune.backend.cpu;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CPU backend: float32 compute on the Java heap, weights read in place from the checkpoint's
 * mapping (F32, BF16; F16 is converted once off-heap), work split over a thread pool, the GEMM
 * and the scan vectorised with the Vector API (this package is its only user).
 */
public final class CpuBackend implements Backend {
    private final Parallel par;
    private final Arena weights = Arena.ofShared();

    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public int threads() { return par.threads; }

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
    public void addInPlace(Tensor acc, Tensor x) {
        MemorySegment a = acc.data(), b = x.data();
        for (long i = 0, n = acc.numel(); i < n; i++)
            a.setAtIndex(Tensor.F32, i, a.getAtIndex(Tensor.F32, i) + b.getAtIndex(Tensor.F32, i));
    }

    @Override
    public void linear(Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        CpuMatmul.linear(par, x, xCol, w, bias, out);
    }

    @Override
    public void causalConv1dSilu(Tensor in, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        int inner = (int) out.size(1), width = (int) weight.size(weight.rank() - 1), stride = (int) in.size(1);
        float[] w = weight.toFloatArray();  // (di, 1, k)
        float[] b = bias == null ? new float[inner] : bias.toFloatArray();
        MemorySegment xs = in.data(), os = out.data(), st = convState.data();
        par.forEach(batch, s -> {
            float[] window = new float[width];
            for (int c = 0; c < inner; c++) {
                long stateBase = ((long) s * inner + c) * (width - 1);
                for (int j = 0; j < width - 1; j++) window[j] = st.getAtIndex(Tensor.F32, stateBase + j);
                for (int t = 0; t < len; t++) {
                    long row = (long) s * len + t;
                    window[width - 1] = xs.getAtIndex(Tensor.F32, row * stride + c);
                    float acc = b[c];
                    for (int j = 0; j < width; j++) acc += w[c * width + j] * window[j];
                    os.setAtIndex(Tensor.F32, row * inner + c, silu(acc));
                    System.arraycopy(window, 1, window, 0, width - 1);
                }
                for (int j = 0; j < width - 1; j++) st.setAtIndex(Tensor.F32, stateBase + j, window[j]);
            }
        });
    }

    @Override
    public void softplusInPlace(Tensor x) {
        MemorySegment s = x.data();
        for (long i = 0, n = x.numel(); i < n; i++) s.setAtIndex(Tensor.F32, i, softplus(s.getAtIndex(Tensor.F32, i)));
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor y) {
        CpuScan.scan(par, x, dt, A, bc, bCol, D, z, zCol, batch, len, state, y);
    }

    static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }

    @Override
    public void close() {
        par.close();
        weights.close();
    }
}
