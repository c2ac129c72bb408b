package dev.statetune.model.mamba2;

import dev.statetune.tensor.Tensor;

/**
 * One Mamba-2 block's weights, named after their Hugging Face keys (`backbone.layers.{i}.norm.weight`,
 * `backbone.layers.{i}.mixer.*`). A is −exp(A_log), kept in fp32.
 */
record Mamba2Layer(Tensor norm,          // (d)
                   Tensor inProj,        // (di + convDim + nHeads, d): z | xBC | dt
                   Tensor inProjBias,    // (di + convDim + nHeads) or null
                   Tensor convWeight,    // (convDim, 1, k)
                   Tensor convBias,      // (convDim) or null
                   Tensor dtBias,        // (nHeads)
                   Tensor A,             // (nHeads) = −exp(A_log)
                   Tensor D,             // (nHeads)
                   Tensor gatedNorm,     // (di) mixer.norm.weight
                   Tensor outProj,       // (d, di)
                   Tensor outProjBias) { // (d) or null
}
