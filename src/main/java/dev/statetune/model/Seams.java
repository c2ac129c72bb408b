package dev.statetune.model;

import dev.statetune.tensor.Tensor;

/**
 * The places where parameter-efficient methods plug into the Mamba-1 mixer, per layer (the model
 * never knows which method fills them). Each value has a gradient beside it; null means absent
 * (the value) or not trained (the gradient).
 *
 * @param hOffset  (di, n) h′ added to the state at read-out only (State-offset Tuning, h)
 * @param yOffset  (di) y′ added to the scan output before the gate (State-offset Tuning, y)
 * @param h0       (di, n) the SSM state before the first token (Initial State Tuning)
 * @param conv0    (di, k−1) the conv inputs before the first token (Initial State Tuning's conv state)
 */
public record Seams(Tensor hOffset, Tensor yOffset, Tensor h0, Tensor conv0,
                    Tensor dhOffset, Tensor dyOffset, Tensor dh0, Tensor dconv0) {
    public static final Seams NONE = new Seams(null, null, null, null, null, null, null, null);
}
