package dev.statetune.tokenizer;

import java.util.Arrays;

/**
 * BPE merge rules as an open-addressing hash table from a pair of token ids to (rank, merged id),
 * in primitive arrays so that the merge loop never boxes or allocates.
 */
final class MergeTable {
    /** Returned by {@link #find} when the pair has no merge rule. */
    static final long NONE = -1;

    private final long[] keys; // (left << 32 | right), -1 for an empty slot
    private final long[] values; // (rank << 32 | mergedId)
    private final int mask;

    MergeTable(int capacity) {
        int size = Integer.highestOneBit(Math.max(2, capacity) * 2 - 1) * 2; // load factor <= 0.5
        keys = new long[size];
        values = new long[size];
        mask = size - 1;
        Arrays.fill(keys, -1);
    }

    /** Adds or replaces a rule (a later duplicate wins, as in Hugging Face's merge map). */
    void put(int left, int right, int rank, int mergedId) {
        long key = pairKey(left, right);
        int slot = slot(key);
        while (keys[slot] != -1 && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = (long) rank << 32 | mergedId;
    }

    /** (rank << 32 | mergedId) for the pair, or {@link #NONE}. */
    long find(int left, int right) {
        long key = pairKey(left, right);
        for (int slot = slot(key); ; slot = (slot + 1) & mask) {
            long k = keys[slot];
            if (k == key) {
                return values[slot];
            }
            if (k == -1) {
                return NONE;
            }
        }
    }

    private static long pairKey(int left, int right) {
        return (long) left << 32 | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 32) & mask;
    }
}
