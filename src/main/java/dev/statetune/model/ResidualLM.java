package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * What both models do around their blocks: the embedded ids start the residual stream, the blocks
 * run over it (runLayers, the model's own), and norm_f + lm_head read all of its rows or some.
 */
public abstract class ResidualLM implements LanguageModel {
    protected final Backend backend;
    protected Tensor embedding;   // (vocab, d), set when the model (re)builds its weights
    protected Tensor normF;       // (d)
    protected Tensor lmHead;      // (vocab, d): the embedding when tied

    protected ResidualLM(Backend backend) {
        this.backend = backend;
    }

    /** residual (b·len, d) through every block, in place, continuing from state. */
    protected abstract void runLayers(Tensor residual, int batch, int len, DecodeState state);

    /** norm_f's epsilon. */
    protected abstract float normEps();

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public Tensor forward(int[][] ids, DecodeState state) {
        return head(residualStream(ids, state));
    }

    @Override
    public Tensor forwardLast(int[][] ids, DecodeState state) {
        return head(LmHead.gatherRows(backend, residualStream(ids, state), TokenIds.lastRows(ids)));
    }

    /**
     * Logits (b, vocab) at position lengths[s]−1 of each right-padded sequence of ids (b, len), from
     * {@link #newState} so that adapters act as in generation. A causal model's logits there do not
     * depend on the padding after them; only these b rows go through the LM head.
     */
    @Override
    public Tensor lastLogits(int[][] ids, int[] lengths) {
        return head(LmHead.gatherRows(backend, residualStream(ids, newState(ids.length)), TokenIds.lastRows(ids, lengths)));
    }

    @Override
    public Tensor step(int[] ids, DecodeState state) {
        return forward(TokenIds.column(ids), state);
    }

    /** Logits (T, vocab) for residual (T, d). */
    protected Tensor head(Tensor residual) {
        return LmHead.logits(backend, residual, normF, normEps(), lmHead);
    }

    /** The residual stream (b·len, d) after the last block for ids (b, len), continuing from state. */
    protected Tensor residualStream(int[][] ids, DecodeState state) {
        Tensor residual = LmHead.embed(backend, embedding, ids, state);   // (b·len, d)
        runLayers(residual, ids.length, ids[0].length, state);
        return residual;
    }
}
