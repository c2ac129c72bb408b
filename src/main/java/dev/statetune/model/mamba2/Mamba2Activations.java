package dev.statetune.model.mamba2;

import dev.statetune.model.LowRankPass;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * What one Mamba-2 block's training forward keeps for its backward; the backward recomputes the
 * rest of the mixer's activations (the norms, the conv) from these.
 */
record Mamba2Activations(Tensor u,                              // (T, d) the block's input
                         Tensor zxbcdt,                         // (T′, di + convDim + nHeads) in_proj output, T′ with the prefix
                         Tensor y,                              // (T′, di) the scan's output
                         Tensor h0,                             // (b, nHeads, headDim, n) the scan's initial state
                         List<LowRankPass.Activation> lowRank) {

    /** Every tensor held here, for a scope to keep. */
    Tensor[] tensors() {
        List<Tensor> all = new ArrayList<>(List.of(u, zxbcdt, y, h0));
        all.addAll(LowRankPass.tensors(lowRank));
        return all.toArray(Tensor[]::new);
    }
}
