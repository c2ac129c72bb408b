package dev.statetune.train;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

class BlocksTest {
    @Test
    void everyIndexIsVisitedOnceAndTheSumOfSquaresIsTheSequentialOne() {
        for (int length : new int[] {0, 1, Blocks.SIZE, Blocks.SIZE + 1, 5 * Blocks.SIZE + 123}) {
            AtomicIntegerArray visits = new AtomicIntegerArray(length);
            Blocks.forEach(length, (from, to) -> {
                for (int i = from; i < to; i++) visits.incrementAndGet(i);
            });
            for (int i = 0; i < length; i++) assertEquals(1, visits.get(i), "index " + i + " of " + length);

            float[] g = new float[length];
            SplittableRandom rnd = new SplittableRandom(length);
            double expected = 0;
            for (int i = 0; i < length; i++) {
                g[i] = (float) rnd.nextDouble(-3, 3);
                expected += (double) g[i] * g[i];
            }
            assertEquals(expected, Blocks.sumOfSquares(g), 1e-12 * Math.max(1, expected), "length " + length);
            assertEquals(Blocks.sumOfSquares(g), Blocks.sumOfSquares(g), "the same sum on every call");
        }
    }
}
