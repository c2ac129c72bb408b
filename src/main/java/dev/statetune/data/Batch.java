package dev.statetune.data;

/**
 * A right-padded batch: rows padded to the longest example with the pad id, labels -100 there.
 * {@code tokens} counts the non-pad positions (throughput); {@code targets} the labels that take a
 * loss after the model's shift (positions 1.., not -100): the token-mean loss divides by it.
 */
public record Batch(int[][] inputIds, int[][] labels, int tokens, int targets) {
    public int size() {
        return inputIds.length;
    }

    public int length() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }
}
