package dev.statetune.backend;

import dev.statetune.tensor.Tensor;

/**
 * Where the SSD scan's backward accumulates its gradients; a null field is not computed (a frozen
 * parameter, an absent seam). dx, dB and dC land in dxBC at the forward's columns, dt's in dDtRaw at
 * the forward's dtCol (with respect to dt before its bias, softplus and clamp).
 *
 * @param dxBC     (b·len, convDim)
 * @param dDtRaw   (b·len, ≥ dtCol + nHeads)
 * @param dDtBias  (nHeads), or null
 * @param dA       (nHeads) with respect to A = −exp(A_log), or null
 * @param dD       (nHeads), or null
 * @param dh0      (b, nHeads, headDim, n) initial state, or null
 * @param dhOffset (nHeads, headDim, n) h′, or null
 * @param dyOffset (nHeads, headDim) y′, or null
 */
public record SsdGrads(Tensor dxBC, Tensor dDtRaw, Tensor dDtBias, Tensor dA, Tensor dD, Tensor dh0, Tensor dhOffset, Tensor dyOffset) {
}
