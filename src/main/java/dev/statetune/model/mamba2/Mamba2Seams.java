package dev.statetune.model.mamba2;

import dev.statetune.model.LowRank;
import dev.statetune.tensor.Tensor;

import java.util.List;

/**
 * The places where parameter-efficient methods plug into one Mamba-2 mixer (PAPER_NOTES.md,
 * Mamba-2 analogue), each value with its gradient beside it; null means absent (the value) or not
 * trained (the gradient). Offsets are added to the scan output after the D skip and before the
 * gated norm; the model never knows which method fills them.
 *
 * @param hOffset (nHeads, headDim, n) h′, read out through the head's group C_t only (State-offset Tuning, h)
 * @param yOffset (nHeads, headDim) y′ (State-offset Tuning, y)
 * @param h0      (nHeads, headDim, n) the SSM state before the first token (Initial State Tuning)
 * @param lowRank low-rank updates of in_proj and out_proj (LoRA)
 * @param prefix  (M, d) virtual tokens read by the mixer before each sequence, their outputs dropped (Prefix-Tuning)
 */
public record Mamba2Seams(Tensor hOffset, Tensor yOffset, Tensor h0, Tensor dhOffset, Tensor dyOffset, Tensor dh0, List<LowRank> lowRank,
                          Tensor prefix, Tensor dPrefix) {
    public static final Mamba2Seams NONE = new Mamba2Seams(null, null, null);

    /** Seams without gradients or low-rank updates (a forward only). */
    public Mamba2Seams(Tensor hOffset, Tensor yOffset, Tensor h0) {
        this(hOffset, yOffset, h0, null, null, null, List.of());
    }

    /** Seams without a prefix. */
    public Mamba2Seams(Tensor hOffset, Tensor yOffset, Tensor h0, Tensor dhOffset, Tensor dyOffset, Tensor dh0, List<LowRank> lowRank) {
        this(hOffset, yOffset, h0, dhOffset, dyOffset, dh0, lowRank, null, null);
    }

    /** Whether a low-rank update changes the linear layer `module` (in_proj, out_proj). */
    public boolean lowRankOn(String module) {
        return lowRank.stream().anyMatch(update -> update.module().equals(module));
    }

    /** M, the prefix's virtual tokens (0 without one). */
    public int virtualTokens() {
        return prefix == null ? 0 : (int) prefix.size(0);
    }
}
