package dev.statetune.model;

import dev.statetune.tensor.Tensor;

/**
 * One Mamba-1 block's weights, named after their Hugging Face keys
 * (`backbone.layers.{i}.norm.weight`, `backbone.layers.{i}.mixer.*`). A is −exp(A_log), kept in fp32.
 */
public record MambaLayer(Tensor norm,          // (d)
                         Tensor inProj,        // (2·di, d)
                         Tensor inProjBias,    // (2·di) or null
                         Tensor convWeight,    // (di, 1, k)
                         Tensor convBias,      // (di) or null
                         Tensor xProj,         // (r + 2n, di)
                         Tensor dtProj,        // (di, r)
                         Tensor dtProjBias,    // (di)
                         Tensor A,             // (di, n) = −exp(A_log)
                         Tensor D,             // (di)
                         Tensor outProj,       // (d, di)
                         Tensor outProjBias) { // (d) or null
}
