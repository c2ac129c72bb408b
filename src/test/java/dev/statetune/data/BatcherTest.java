package dev.statetune.data;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Seeded epochs, each example once per epoch, padding and label masks, length grouping, resumption. */
class BatcherTest {
    private static final int PAD = 0;

    /** Example i starts with token 1000 + i, has length 2 + (i·7 mod 11), and its first two labels masked. */
    private static List<Example> examples(int n) {
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 2 + (i * 7) % 11;
            int[] ids = new int[len], labels = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 1000 + i + t;
                labels[t] = t < 2 ? -100 : ids[t];
            }
            out.add(new Example(ids, labels));
        }
        return out;
    }

    private static int exampleOf(int[] row) {
        return row[0] - 1000;
    }

    private static List<String> take(Batcher b, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Batch batch = b.next();
            out.add(Arrays.deepToString(batch.inputIds()) + Arrays.deepToString(batch.labels()));
        }
        return out;
    }

    @Test
    void sameSeedSameOrderOtherSeedOtherOrder() {
        List<Example> ex = examples(23);
        assertEquals(take(new Batcher(ex, 4, 42, PAD, false), 14), take(new Batcher(ex, 4, 42, PAD, false), 14));
        assertNotEquals(take(new Batcher(ex, 4, 42, PAD, false), 6), take(new Batcher(ex, 4, 43, PAD, false), 6));
    }

    @Test
    void everyExampleOncePerEpochAndEpochsDiffer() {
        List<Example> ex = examples(23);
        Batcher b = new Batcher(ex, 4, 7, PAD, false);
        assertEquals(6, b.batchesPerEpoch());
        List<List<Integer>> epochs = new ArrayList<>();
        for (int e = 0; e < 3; e++) {
            assertEquals(new Batcher.State(e, 0), b.state());
            List<Integer> seen = new ArrayList<>();
            for (int k = 0; k < 6; k++) {
                Batch batch = b.next();
                assertEquals(k < 5 ? 4 : 3, batch.size(), "the last batch holds the remainder");
                for (int[] row : batch.inputIds()) seen.add(exampleOf(row));
            }
            assertEquals(23, seen.size());
            assertEquals(23, new HashSet<>(seen).size());
            epochs.add(seen);
        }
        assertNotEquals(epochs.get(0), epochs.get(1), "reshuffled each epoch");
        assertNotEquals(epochs.get(1), epochs.get(2));
    }

    @Test
    void rightPaddingWithPadIdAndIgnoredLabels() {
        Example a = new Example(new int[] {5, 6}, new int[] {-100, 6});
        Example b = new Example(new int[] {7, 8, 9, 10}, new int[] {7, -100, 9, 10});
        Batch batch = new Batcher(List.of(a, b), 2, 1, 50277, false).next();
        assertEquals(4, batch.length());
        int ra = batch.inputIds()[0][0] == 5 ? 0 : 1, rb = 1 - ra;
        assertArrayEquals(new int[] {5, 6, 50277, 50277}, batch.inputIds()[ra]);
        assertArrayEquals(new int[] {-100, 6, -100, -100}, batch.labels()[ra]);
        assertArrayEquals(new int[] {7, 8, 9, 10}, batch.inputIds()[rb]);
        assertArrayEquals(new int[] {7, -100, 9, 10}, batch.labels()[rb]);
        assertEquals(6, batch.tokens());
        // After the shift: a has label 6 at t=1; b has 9 and 10 (its label at t=0 is never predicted).
        assertEquals(3, batch.targets());
    }

    @Test
    void resumeMidEpochGivesTheSameRemainingBatches() {
        List<Example> ex = examples(23);
        for (boolean grouped : new boolean[] {false, true}) {
            Batcher first = new Batcher(ex, 3, 42, PAD, grouped);
            take(first, 11); // one epoch of 8 batches and 3 of the next
            Batcher.State s = first.state();
            assertEquals(new Batcher.State(1, 3), s);
            Batcher resumed = new Batcher(ex, 3, 42, PAD, grouped);
            resumed.seek(s);
            assertEquals(take(first, 20), take(resumed, 20), "grouped=" + grouped);
        }
    }

    @Test
    void stateAtAnEpochBoundaryIsTheNextEpoch() {
        Batcher b = new Batcher(examples(4), 2, 1, PAD, false);
        b.next();
        b.next();
        assertEquals(new Batcher.State(1, 0), b.state());
        b.seek(new Batcher.State(0, 2));
        assertEquals(new Batcher.State(1, 0), b.state());
        assertThrows(IllegalArgumentException.class, () -> b.seek(new Batcher.State(0, 3)));
    }

    @Test
    void lengthGroupingSortsWithinMegaBatchesAndLeadsWithTheLongest() {
        List<Example> ex = examples(400);
        int batch = 2;
        // min(400 / (2·4), 50) = 50 batches of 2: mega-batches of 100 examples.
        Batcher b = new Batcher(ex, batch, 3, PAD, true);
        List<Integer> order = new ArrayList<>();
        for (int k = 0; k < b.batchesPerEpoch(); k++)
            for (int[] row : b.next().inputIds()) order.add(exampleOf(row));
        assertEquals(400, new HashSet<>(order).size());
        assertEquals(12, ex.get(order.getFirst()).length(), "the longest example comes first");
        for (int mega = 0; mega < 400; mega += 100) {
            // Each mega-batch's head may be the one swapped with the longest; from its second on it is sorted.
            for (int i = mega + 2; i < mega + 100; i++)
                assertTrue(ex.get(order.get(i - 1)).length() >= ex.get(order.get(i)).length(),
                        "mega-batch from " + mega + " not longest first at " + i);
        }
        int groupedPads = padding(new Batcher(ex, 8, 3, PAD, true)), shuffledPads = padding(new Batcher(ex, 8, 3, PAD, false));
        assertTrue(groupedPads * 3 < shuffledPads, groupedPads + " pad tokens grouped vs " + shuffledPads + " shuffled");
    }

    private static int padding(Batcher b) {
        int pads = 0;
        for (int k = 0; k < b.batchesPerEpoch(); k++) {
            Batch batch = b.next();
            pads += batch.size() * batch.length() - batch.tokens();
        }
        return pads;
    }
}
