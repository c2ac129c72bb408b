package dev.statetune.data;

/**
 * One training sequence in the Hugging Face convention: labels aligned with inputIds, -100 where no
 * loss is taken (the prompt); the model shifts them, so labels[t] is predicted at position t − 1.
 */
public record Example(int[] inputIds, int[] labels) {
    /** The label that takes no loss (torch's CrossEntropyLoss ignore_index). */
    public static final int IGNORE = -100;

    public Example {
        if (inputIds.length != labels.length)
            throw new IllegalArgumentException(inputIds.length + " input ids but " + labels.length + " labels");
    }

    public int length() {
        return inputIds.length;
    }
}
