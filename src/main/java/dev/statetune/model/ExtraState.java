package dev.statetune.model;

import dev.statetune.tensor.Tensor;

/**
 * Additional-scan: n′ extra state dimensions of one layer's scan. x_proj gains rows producing B′
 * and C′, A_log gains columns; with C′ = 0 the model is unchanged (PAPER_NOTES.md).
 *
 * @param B    (n′, di) new x_proj rows for B′
 * @param C    (n′, di) new x_proj rows for C′
 * @param aLog (di, n′) new A_log columns
 */
public record ExtraState(Tensor B, Tensor C, Tensor aLog, Tensor dB, Tensor dC, Tensor dALog) {
    public int dims() {
        return (int) B.size(0);
    }
}
