package dev.statetune.model;

import dev.statetune.tensor.Tensor;

/** A checkpoint weight being trained: its fp32 master value (used in place of the stored one) and its gradient. */
public record TrainedWeight(Tensor value, Tensor grad) {
}
