package dev.statetune.model;

import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What one block's forward keeps for its backward (T = batch·len rows; T′ with the prefix tokens).
 * The mixer's input, the conv output, softplus(dt) and, without LoRA on dt_proj, dt itself are cheap
 * to recompute and are not kept.
 */
record LayerActivations(int virtual,      // M prefix tokens before each sequence at the mixer (T′ = b·(M+len) rows below)
                        Tensor u,        // (T, d) the block's input (residual stream)
                        Tensor xz,       // (T′, 2di) in_proj output: x | z
                        Tensor dtBC,     // (T′, r+2n) x_proj output: dt | B | C
                        Tensor dtRaw,    // (T′, di) dt_proj output before softplus; null when the backward recomputes it (no LoRA on dt_proj)
                        Tensor y,        // (T′, di) gated scan output; null when out_proj is frozen (its dW alone reads y)
                        Tensor scanA,    // (di, n[+n′]) the A the scan ran with
                        Tensor scanBC,   // the matrix the scan read B and C from (dtBC, or B|B′|C|C′)
                        int scanBCol,    // where B starts in it
                        Tensor h0,       // (b, di, n) the scan's initial state
                        Tensor conv0,    // (b, di, k−1) the conv's initial inputs
                        Tensor memo,     // what the scan kept for its backward (Backend.scanMemo), or null
                        List<LowRankPass.Activation> lowRank) {

    /** These activations without y. */
    LayerActivations withoutY() {
        return new LayerActivations(virtual, u, xz, dtBC, dtRaw, null, scanA, scanBC, scanBCol, h0, conv0, memo, lowRank);
    }

    /** Every tensor held here, for a scope to keep. */
    Tensor[] tensors() {
        List<Tensor> all = new ArrayList<>(Arrays.asList(u, xz, dtBC, dtRaw, y, scanA, scanBC, h0, conv0, memo));
        all.addAll(LowRankPass.tensors(lowRank));
        return all.toArray(Tensor[]::new);
    }
}
