package dev.statetune.backend;

/** A summed cross-entropy loss over `targets` target tokens, and how many argmax predictions were right. */
public record LossResult(double lossSum, int targets, int correct) {
    public double meanLoss() {
        return targets == 0 ? 0 : lossSum / targets;
    }
}
