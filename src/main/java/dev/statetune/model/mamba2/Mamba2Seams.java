package dev.statetune.model.mamba2;

import dev.statetune.tensor.Tensor;

/**
 * The places where parameter-efficient methods plug into one Mamba-2 mixer (PAPER_NOTES.md,
 * Mamba-2 analogue); null means absent. Offsets are added to the scan output after the D skip
 * and before the gated norm; the model never knows which method fills them.
 *
 * @param hOffset (nHeads, headDim, n) h′, read out through the head's group C_t only (State-offset Tuning, h)
 * @param yOffset (nHeads, headDim) y′ (State-offset Tuning, y)
 * @param h0      (nHeads, headDim, n) the SSM state before the first token (Initial State Tuning)
 */
public record Mamba2Seams(Tensor hOffset, Tensor yOffset, Tensor h0) {
    public static final Mamba2Seams NONE = new Mamba2Seams(null, null, null);
}
