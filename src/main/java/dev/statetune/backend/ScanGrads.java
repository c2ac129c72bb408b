package dev.statetune.backend;

import dev.statetune.tensor.Tensor;

/**
 * Where the selective scan's backward puts its gradients: dx and ddt are written, the rest accumulate;
 * a null field is not computed (a frozen parameter, an absent seam). dB and dC land in dbc at the
 * forward's B and C columns.
 *
 * @param dx       (b·len, di), written
 * @param ddt      (b·len, di) with respect to dt before the softplus (the scan's input), written
 * @param dbc      (b·len, ≥ bCol + 2n)
 * @param dz       (b·len, ≥ zCol + di)
 * @param dA       (di, n) with respect to A = −exp(A_log), or null
 * @param dD       (di), or null
 * @param dh0      (b, di, n) initial state, or null
 * @param dhOffset (di, n) h′, or null
 * @param dyOffset (di) y′, or null
 */
public record ScanGrads(Tensor dx, Tensor ddt, Tensor dbc, Tensor dz, Tensor dA, Tensor dD, Tensor dh0,
                        Tensor dhOffset, Tensor dyOffset) {
}
