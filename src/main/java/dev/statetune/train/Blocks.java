package dev.statetune.train;

import java.util.stream.IntStream;

/**
 * Elementwise work over an array in blocks, in parallel when the array is large (full
 * fine-tuning's parameters: AdamW, clipping); small adapters stay on the calling thread.
 */
final class Blocks {
    static final int SIZE = 1 << 16;

    private Blocks() {}

    interface Range {
        void run(int from, int to);
    }

    /** range.run over [0, length) in blocks of SIZE; blocks may run at once on the common pool. */
    static void forEach(int length, Range range) {
        int blocks = (length + SIZE - 1) / SIZE;
        if (blocks <= 1) {
            range.run(0, length);
            return;
        }
        IntStream.range(0, blocks).parallel().forEach(b -> range.run(b * SIZE, Math.min(length, (b + 1) * SIZE)));
    }

    /** Σ g² over g in double, summed per block and the blocks then added in order (the same result on any pool). */
    static double sumOfSquares(float[] g) {
        int blocks = (g.length + SIZE - 1) / SIZE;
        double[] partial = new double[Math.max(1, blocks)];
        forEach(g.length, (from, to) -> {
            double s = 0;
            for (int i = from; i < to; i++) s += (double) g[i] * g[i];
            partial[from / SIZE] = s;
        });
        double sum = 0;
        for (double s : partial) sum += s;
        return sum;
    }
}
