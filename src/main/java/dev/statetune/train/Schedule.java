package dev.statetune.train;

import dev.statetune.StatetuneException;

/**
 * The learning rate per optimizer step, as transformers' get_linear_schedule_with_warmup,
 * get_cosine_schedule_with_warmup (half a cycle) and get_constant_schedule_with_warmup: a linear
 * warmup from 0 over warmupSteps, then linear or cosine decay to 0 at totalSteps, or constant.
 */
public final class Schedule {
    private enum Kind { LINEAR, COSINE, CONSTANT }

    private final Kind kind;
    private final double peakLr;
    private final int warmupSteps, totalSteps;

    private Schedule(Kind kind, double peakLr, int warmupSteps, int totalSteps) {
        this.kind = kind;
        this.peakLr = peakLr;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    /** {@code kind} is "linear", "cosine" or "constant" (the CLI's --lr-schedule values). */
    public static Schedule of(String kind, double peakLr, int warmupSteps, int totalSteps) {
        Kind k = switch (kind) {
            case "linear" -> Kind.LINEAR;
            case "cosine" -> Kind.COSINE;
            case "constant" -> Kind.CONSTANT;
            default -> throw new StatetuneException("--lr-schedule: unknown schedule '" + kind + "' (linear, cosine, constant)");
        };
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) throw new StatetuneException("--lr: must be a finite number >= 0, got " + peakLr);
        if (warmupSteps < 0) throw new StatetuneException("--warmup-steps: must be >= 0, got " + warmupSteps);
        if (totalSteps < 0) throw new StatetuneException("total steps must be >= 0, got " + totalSteps);
        return new Schedule(k, peakLr, warmupSteps, totalSteps);
    }

    /**
     * The rate for the update made after {@code step} earlier updates (0-based), as LambdaLR gives it:
     * with no warmup the first update uses the peak; with warmup it uses 0, as transformers does.
     */
    public double lr(int step) {
        if (step < warmupSteps) return peakLr * step / Math.max(1, warmupSteps);
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case CONSTANT -> peakLr;
            case LINEAR -> peakLr * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> peakLr * Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * progress)));
        };
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + "(peak=" + peakLr + ", warmup=" + warmupSteps + ", total=" + totalSteps + ")";
    }
}
