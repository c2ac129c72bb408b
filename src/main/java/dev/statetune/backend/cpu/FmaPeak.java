package dev.statetune.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures this machine's float32 FMA throughput with the Vector API: 12 independent accumulator
 * chains per thread (enough to cover the FMA latency), all threads at once. The anchor that the
 * GEMM's GFLOP/s are compared with in `statetune bench`.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private FmaPeak() {}

    /**
     * GFLOP/s (an FMA counts 2): the best of 3 rounds on all of the backend's threads and of 3 on
     * one thread alone (on a VM whose vCPUs share a core, one thread can beat them all together).
     */
    public static double gflops(CpuBackend backend, long iterations) {
        int threads = backend.threads();
        float[] sink = new float[threads];
        for (int i = 0; i < 200; i++) chains(100_000, sink, 0);  // compiled by C2 as a whole method, not on-stack replaced
        double best = 0;
        for (int used : new int[] {threads, 1}) {
            for (int round = 0; round < 3; round++) {
                long start = System.nanoTime();
                backend.parallel().forEach(used, t -> sink[t] = chains(iterations, sink, t));
                best = Math.max(best, 2.0 * 12 * F.length() * iterations * used / ((System.nanoTime() - start) / 1e9) / 1e9);
            }
        }
        return best;
    }

    private static float chains(long iterations, float[] sink, int t) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), a = FloatVector.broadcast(F, 1e-7f);
        FloatVector v0 = FloatVector.broadcast(F, t), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0;
        FloatVector v6 = v0, v7 = v0, v8 = v0, v9 = v0, v10 = v0, v11 = v0;
        for (long i = 0; i < iterations; i++) {
            v0 = v0.fma(m, a); v1 = v1.fma(m, a); v2 = v2.fma(m, a); v3 = v3.fma(m, a);
            v4 = v4.fma(m, a); v5 = v5.fma(m, a); v6 = v6.fma(m, a); v7 = v7.fma(m, a);
            v8 = v8.fma(m, a); v9 = v9.fma(m, a); v10 = v10.fma(m, a); v11 = v11.fma(m, a);
        }
        return v0.add(v1).add(v2).add(v3).add(v4).add(v5).add(v6).add(v7).add(v8).add(v9).add(v10).add(v11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD) + sink[t];
    }
}
