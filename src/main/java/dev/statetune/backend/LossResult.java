package dev.statetune.backend;

import dev.statetune.tensor.Tensor;

/** A summed cross-entropy loss over `targets` target tokens, and how many argmax predictions were right. */
public record LossResult(double lossSum, int targets, int correct) {
    /** The sums Backend.crossEntropy adds to: Σ loss, targets, hits, and Σ over its calls of each call's mean loss. */
    public static final int SUMS = 4;

    public double meanLoss() {
        return targets == 0 ? 0 : lossSum / targets;
    }

    /** What crossEntropy added to sums (read after Backend.synchronize). */
    public static LossResult of(Tensor sums) {
        return new LossResult(sums.getDouble(0), (int) sums.getDouble(1), (int) sums.getDouble(2));
    }
}
