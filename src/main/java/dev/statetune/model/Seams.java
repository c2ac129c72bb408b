package dev.statetune.model;

import dev.statetune.tensor.Tensor;

import java.util.List;

/**
 * The places where parameter-efficient methods plug into the Mamba-1 mixer, per layer (the model
 * never knows which method fills them). Each value has a gradient beside it; null means absent
 * (the value) or not trained (the gradient).
 *
 * @param hOffset  (di, n) h′ added to the state at read-out only (State-offset Tuning, h)
 * @param yOffset  (di) y′ added to the scan output before the gate (State-offset Tuning, y)
 * @param h0       (di, n) the SSM state before the first token (Initial State Tuning)
 * @param conv0    (di, k−1) the conv inputs before the first token (Initial State Tuning's conv state)
 * @param lowRank  low-rank updates of the mixer's linear layers (LoRA)
 * @param prefix   (M, d) virtual tokens prepended to the mixer's input, their outputs dropped (Prefix-Tuning)
 * @param extra    extra state dimensions of the scan (Additional-scan), or null
 */
public record Seams(Tensor hOffset, Tensor yOffset, Tensor h0, Tensor conv0,
                    Tensor dhOffset, Tensor dyOffset, Tensor dh0, Tensor dconv0, List<LowRank> lowRank,
                    Tensor prefix, Tensor dPrefix, ExtraState extra) {
    public static final Seams NONE = new Seams(null, null, null, null, null, null, null, null);

    public Seams(Tensor hOffset, Tensor yOffset, Tensor h0, Tensor conv0, Tensor dhOffset, Tensor dyOffset, Tensor dh0, Tensor dconv0) {
        this(hOffset, yOffset, h0, conv0, dhOffset, dyOffset, dh0, dconv0, List.of(), null, null, null);
    }

    /** The scan's state width at this layer: n, plus Additional-scan's extra dimensions. */
    public int stateDim(int n) {
        return extra == null ? n : n + extra.dims();
    }

    /** Whether a low-rank update changes the linear layer `module` (in_proj, x_proj, dt_proj, out_proj). */
    public boolean lowRankOn(String module) {
        return lowRank.stream().anyMatch(update -> update.module().equals(module));
    }

    /** Virtual tokens before each sequence at this layer's mixer (0 without Prefix-Tuning). */
    public int virtualTokens() {
        return prefix == null ? 0 : (int) prefix.size(0);
    }
}
