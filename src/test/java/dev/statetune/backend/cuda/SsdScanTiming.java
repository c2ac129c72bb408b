package dev.statetune.backend.cuda;

import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Times the CUDA ssdScan and ssdScanBackward at a 130m-like layer (24 heads × 64, state 128, one
 * group, batch 4 × 512) after a warm-up, synchronizing around each call: java -cp … SsdScanTiming [iterations].
 */
public final class SsdScanTiming {
    private SsdScanTiming() {}

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int nh = 24, p = 64, ng = 1, n = 128, batch = 4, len = 512;
        SsdDims dims = new SsdDims(nh, p, ng, n, 256);
        long rows = (long) batch * len;
        SplittableRandom rnd = new SplittableRandom(3);
        try (CudaBackend cuda = new CudaBackend(0)) {
            Tensor xBC = gpu(cuda, rnd, 1, rows, dims.convDim()), dtRaw = gpu(cuda, rnd, 1.5, rows, nh), dtBias = gpu(cuda, rnd, 0.5, nh);
            float[] a = new float[nh];
            for (int h = 0; h < nh; h++) a[h] = (float) -(0.05 + 2 * rnd.nextDouble());
            Tensor A = gpu(cuda, Tensor.of(a, nh)), D = gpu(cuda, rnd, 1, nh), dy = gpu(cuda, rnd, 1, rows, dims.innerDim());
            Tensor state = cuda.allocate(batch, nh, p, n), y = cuda.allocate(rows, dims.innerDim());
            SsdGrads g = new SsdGrads(cuda.allocate(rows, dims.convDim()), cuda.allocate(rows, nh), cuda.allocate(nh), cuda.allocate(nh),
                    cuda.allocate(nh), null, null, null);
            Runnable forward = () -> cuda.ssdScan(xBC, dtRaw, 0, dtBias, 0f, Float.POSITIVE_INFINITY, A, D, dims, batch, len, state, null, null, y);
            Runnable backward = () -> cuda.ssdScanBackward(xBC, dtRaw, 0, dtBias, 0f, Float.POSITIVE_INFINITY, A, D, dims, batch, len, null,
                    null, null, dy, g);
            System.out.printf("ssd scan forward  %.3f ms%n", time(cuda, forward, iterations));
            System.out.printf("ssd scan backward %.3f ms%n", time(cuda, backward, iterations));
        }
    }

    private static double time(CudaBackend cuda, Runnable op, int iterations) {
        for (int i = 0; i < 3; i++) op.run();
        cuda.synchronize();
        long t0 = System.nanoTime();
        for (int i = 0; i < iterations; i++) op.run();
        cuda.synchronize();
        return (System.nanoTime() - t0) / 1e6 / iterations;
    }

    private static Tensor gpu(CudaBackend cuda, SplittableRandom rnd, double scale, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * rnd.nextDouble(-1, 1));
        return gpu(cuda, Tensor.of(v, shape));
    }

    private static Tensor gpu(CudaBackend cuda, Tensor host) {
        Tensor t = cuda.allocate(host.shape());
        cuda.copy(host, t);
        return t;
    }
}
