package dev.statetune.model;

import dev.statetune.tensor.Tensor;

import java.util.List;

/** What one block's forward keeps for its backward (T = batch·len rows; T′ with the prefix tokens). */
record LayerActivations(int virtual,      // M prefix tokens before each sequence at the mixer (T′ = b·(M+len) rows below)
                        Tensor u,        // (T, d) the block's input (residual stream)
                        Tensor normedIn, // (T′, d) the mixer's input: the prefix, then rmsnorm(u), per sequence
                        Tensor xz,       // (T′, 2di) in_proj output: x | z
                        Tensor x,        // (T′, di) silu(conv(x))
                        Tensor dtBC,     // (T′, r+2n) x_proj output: dt | B | C
                        Tensor dtRaw,    // (T′, di) dt_proj output before softplus
                        Tensor dt,       // (T′, di) softplus(dtRaw)
                        Tensor y,        // (T′, di) gated scan output
                        Tensor scanA,    // (di, n[+n′]) the A the scan ran with
                        Tensor scanBC,   // the matrix the scan read B and C from (dtBC, or B|B′|C|C′)
                        int scanBCol,    // where B starts in it
                        Tensor h0,       // (b, di, n) the scan's initial state
                        Tensor conv0,    // (b, di, k−1) the conv's initial inputs
                        List<LowRankPass.Activation> lowRank) {
}
