package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * The ends of both models' forward: the embedded ids that start the residual stream,
 * lm_head(norm_f(residual)) for all or some rows of it (only the rows that are read go through the
 * LM head), and the residual sum of a block.
 */
public final class LmHead {
    private LmHead() {}

    /** The residual stream (b·len, d) = table[ids] for ids (b, len) of a state of b sequences; bad ids fail with one line. */
    public static Tensor embed(Backend backend, Tensor table, int[][] ids, DecodeState state) {
        int batch = ids.length, len = ids[0].length;
        if (state.batch != batch) throw new IllegalArgumentException("state for batch " + state.batch + ", ids for " + batch);
        int[] flat = TokenIds.flatten(ids, (int) table.size(0));
        Tensor residual = backend.allocate((long) batch * len, table.size(1));   // (b·len, d)
        backend.embedding(table, flat, residual);
        return residual;
    }

    /** Logits (T, vocab) = lmHead · rmsnorm(residual, normF) for residual (T, d), lmHead (vocab, d), ready for the host to read. */
    public static Tensor logits(Backend backend, Tensor residual, Tensor normF, float eps, Tensor lmHead) {
        long tokens = residual.size(0);
        Tensor normed = backend.allocateLinearInput(tokens, residual.size(1));   // (T, d), written by the norm
        backend.rmsNorm(residual, normF, eps, normed);
        Tensor logits = backend.allocate(tokens, lmHead.size(0));          // (T, vocab)
        backend.linear(normed, 0, lmHead, null, logits);
        backend.synchronize();
        return logits;
    }

    /** (rows.length, d) = residual[rows] for residual (T, d). */
    public static Tensor gatherRows(Backend backend, Tensor residual, long[] rows) {
        Tensor out = backend.allocate(rows.length, residual.size(1));
        for (int s = 0; s < rows.length; s++) backend.copy(residual.rows(rows[s], rows[s] + 1), out.rows(s, s + 1));
        return out;
    }

    /** a + b as a new tensor (a block's output, keeping its input a for the backward). */
    public static Tensor sum(Backend backend, Tensor a, Tensor b) {
        Tensor sum = backend.allocate(a.shape());
        backend.copy(a, sum);
        backend.addInPlace(sum, b);
        return sum;
    }
}
