package dev.statetune.model;

import dev.statetune.StatetuneException;

/**
 * Token-id batches as the models read them: checked against the vocabulary and flattened
 * sequence-major, or one new token per sequence for a decode step. Shared by both models.
 */
public final class TokenIds {
    private TokenIds() {}

    /** ids (batch, len) as one (batch·len) array, after checking equal lengths and the vocabulary. */
    public static int[] flatten(int[][] ids, int vocabSize) {
        int batch = ids.length, len = ids[0].length;
        int[] flat = new int[batch * len];
        for (int s = 0; s < batch; s++) {
            if (ids[s].length != len) throw new StatetuneException("all sequences of a batch must have the same length");
            check(ids[s], vocabSize);
            System.arraycopy(ids[s], 0, flat, s * len, len);
        }
        return flat;
    }

    /** Fails with one line for an id outside the vocabulary. */
    public static void check(int[] ids, int vocabSize) {
        for (int id : ids)
            if (id < 0 || id >= vocabSize)
                throw new StatetuneException("token id " + id + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
    }

    /** One token per sequence (batch) as a (batch, 1) batch. */
    public static int[][] column(int[] ids) {
        int[][] column = new int[ids.length][];
        for (int s = 0; s < ids.length; s++) column[s] = new int[] {ids[s]};
        return column;
    }

    /** The flat row (s·len + len − 1) of each sequence's last token, for ids (b, len). */
    public static long[] lastRows(int[][] ids) {
        int[] lengths = new int[ids.length];
        java.util.Arrays.fill(lengths, ids[0].length);
        return lastRows(ids, lengths);
    }

    /** The flat row (s·len + lengths[s] − 1) of each right-padded sequence's last real token, for ids (b, len). */
    public static long[] lastRows(int[][] ids, int[] lengths) {
        int len = ids[0].length;
        long[] rows = new long[ids.length];
        for (int s = 0; s < ids.length; s++) {
            if (lengths[s] < 1 || lengths[s] > len) throw new IllegalArgumentException("length " + lengths[s] + " of a row of " + len);
            rows[s] = (long) s * len + lengths[s] - 1;
        }
        return rows;
    }
}
