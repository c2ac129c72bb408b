package dev.statetune.model;

import dev.statetune.tensor.Tensor;

/**
 * A low-rank update on rows [rowFrom, rowTo) of one of a mixer's linear layers (LoRA):
 * out[:, rows] += scale · B · A · dropout(x). Parts of x_proj (its dt, B or C rows) are separate
 * updates, as in the paper's recipe.
 *
 * @param module  "in_proj", "x_proj", "dt_proj" or "out_proj"
 * @param A       (rank, in)
 * @param B       (rowTo − rowFrom, rank)
 * @param dA      gradient of A, or null
 * @param dB      gradient of B, or null
 */
public record LowRank(String module, int rowFrom, int rowTo, Tensor A, Tensor B, float scale, float dropout, Tensor dA, Tensor dB) {
}
