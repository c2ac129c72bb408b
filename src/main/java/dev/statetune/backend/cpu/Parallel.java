package dev.statetune.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** Runs independent work items on the CPU backend's own thread pool (one thread per core by default). */
final class Parallel implements AutoCloseable {
    private final ForkJoinPool pool;
    final int threads;

    Parallel(int threads) {
        this.threads = threads;
        this.pool = new ForkJoinPool(threads);
    }

    /** body(i) for i in [0, n), spread over the pool; returns when all are done. */
    void forEach(int n, IntConsumer body) {
        if (n == 1 || threads == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
