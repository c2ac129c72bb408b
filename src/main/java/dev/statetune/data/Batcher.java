package dev.statetune.data;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Endless epochs of shuffled batches. Each epoch's order is a function of (seed, epoch) alone, so
 * {@link State} = (epoch, position) is all a checkpoint needs to resume the identical order. With
 * groupByLength, batches come as transformers' LengthGroupedSampler makes them: the shuffled order
 * cut into mega-batches of 50 batches (fewer on small data), each sorted longest first, and the
 * longest example moved to the very first batch so that running out of memory happens at step 1.
 */
public final class Batcher {
    /** Where the next batch comes from: batch {@code position} (0-based) of epoch {@code epoch}. */
    public record State(int epoch, int position) {}

    private static final int MEGA_BATCHES = 50;

    private final List<Example> examples;
    private final int batchSize, padId;
    private final long seed;
    private final boolean groupByLength, shuffle;
    private int epoch, position;
    private int[] order; // example indices of the current epoch, in batch order
    private int orderEpoch = -1;

    public Batcher(List<Example> examples, int batchSize, long seed, int padId, boolean groupByLength) {
        this(examples, batchSize, seed, padId, groupByLength, true);
    }

    /** The examples in their own order, for evaluation. */
    public static Batcher inOrder(List<Example> examples, int batchSize, int padId) {
        return new Batcher(examples, batchSize, 0, padId, false, false);
    }

    private Batcher(List<Example> examples, int batchSize, long seed, int padId, boolean groupByLength, boolean shuffle) {
        if (examples.isEmpty()) throw new IllegalArgumentException("no examples");
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize);
        this.examples = List.copyOf(examples);
        this.batchSize = batchSize;
        this.seed = seed;
        this.padId = padId;
        this.groupByLength = groupByLength;
        this.shuffle = shuffle;
    }

    /** The last batch of an epoch is smaller when the examples do not divide evenly (no drop_last). */
    public int batchesPerEpoch() {
        return (examples.size() + batchSize - 1) / batchSize;
    }

    public State state() {
        return new State(epoch, position);
    }

    /** Continues from a {@link #state()} of a Batcher over the same examples, batch size and seed. */
    public void seek(State s) {
        if (s.epoch() < 0 || s.position() < 0 || s.position() > batchesPerEpoch())
            throw new IllegalArgumentException("cannot seek to " + s + " with " + batchesPerEpoch() + " batches per epoch");
        epoch = s.epoch();
        position = s.position();
        normalize();
    }

    public Batch next() {
        if (orderEpoch != epoch) {
            order = order(epoch);
            orderEpoch = epoch;
        }
        int from = position * batchSize, to = Math.min(from + batchSize, order.length);
        position++;
        normalize();
        return collate(Arrays.copyOfRange(order, from, to));
    }

    private void normalize() {
        if (position == batchesPerEpoch()) {
            epoch++;
            position = 0;
        }
    }

    private int[] order(int epoch) {
        // java.util.Random's algorithm is specified, so an order survives JDK upgrades.
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L + epoch);
        int[] perm = IntStream.range(0, examples.size()).toArray();
        if (!shuffle) return perm;
        for (int i = perm.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return groupByLength ? groupByLength(perm) : perm;
    }

    /** transformers' get_length_grouped_indices, on an already shuffled permutation. */
    private int[] groupByLength(int[] perm) {
        int mult = Math.max(1, Math.min(perm.length / (batchSize * 4), MEGA_BATCHES));
        int mega = mult * batchSize;
        Integer[] boxed = Arrays.stream(perm).boxed().toArray(Integer[]::new);
        Comparator<Integer> longestFirst = Comparator.comparingInt((Integer i) -> examples.get(i).length()).reversed();
        int longestMega = 0;
        for (int from = 0; from < boxed.length; from += mega) {
            Arrays.sort(boxed, from, Math.min(from + mega, boxed.length), longestFirst); // stable, as Python's sorted
            if (examples.get(boxed[from]).length() > examples.get(boxed[longestMega]).length()) longestMega = from;
        }
        Integer t = boxed[0];
        boxed[0] = boxed[longestMega];
        boxed[longestMega] = t;
        return Arrays.stream(boxed).mapToInt(Integer::intValue).toArray();
    }

    private Batch collate(int[] indices) {
        int len = 0;
        for (int i : indices) len = Math.max(len, examples.get(i).length());
        int[][] ids = new int[indices.length][len], labels = new int[indices.length][len];
        int tokens = 0, targets = 0;
        for (int r = 0; r < indices.length; r++) {
            Example ex = examples.get(indices[r]);
            int n = ex.length();
            System.arraycopy(ex.inputIds(), 0, ids[r], 0, n);
            System.arraycopy(ex.labels(), 0, labels[r], 0, n);
            Arrays.fill(ids[r], n, len, padId);
            Arrays.fill(labels[r], n, len, Example.IGNORE);
            tokens += n;
            for (int t = 1; t < n; t++) if (ex.labels()[t] != Example.IGNORE) targets++;
        }
        return new Batch(ids, labels, tokens, targets);
    }
}
