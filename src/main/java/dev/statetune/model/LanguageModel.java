package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * What generation, evaluation and the inference commands need of a causal language model, Mamba-1
 * (MambaLM) or Mamba-2 (Mamba2LM): a forward over a batch that continues a DecodeState, a decode
 * step, and the config facts they print or stop on.
 */
public interface LanguageModel extends AutoCloseable {
    /** Rows of the embedding (the padded vocabulary). */
    int vocabSize();

    int eosTokenId();

    /** Parameters of the model, a tied lm_head counted once. */
    long parameterCount();

    Backend backend();

    /** The state before the first token (zeros, or what an attached adapter starts from). */
    DecodeState newState(int batch);

    /**
     * Logits (batch·len, vocab) for ids (batch, len), continuing from state (which is updated to
     * the end of the sequences). A fresh state gives the whole-sequence forward.
     */
    Tensor forward(int[][] ids, DecodeState state);

    /** Logits (1, vocab) after the whole of ids, continuing state (batch 1), which ends after ids. */
    Tensor forwardLast(int[] ids, DecodeState state);

    /** Logits (b, vocab) at position lengths[s]−1 of each right-padded sequence of ids (b, len), from newState. */
    Tensor lastLogits(int[][] ids, int[] lengths);

    /** Logits (batch, vocab) of one new token per sequence, advancing state by one position. */
    Tensor step(int[] ids, DecodeState state);

    /** Fails with one line for an id outside the vocabulary. */
    default void checkTokenIds(int[] ids) {
        TokenIds.check(ids, vocabSize());
    }

    @Override
    void close();

    /** Row `row` of a (rows, vocab) logits tensor as a heap array. */
    static float[] row(Tensor logits, int row) {
        int v = (int) logits.size(1);
        float[] out = new float[v];
        MemorySegment.copy(logits.data(), Tensor.F32, (long) row * v * 4, out, 0, v);
        return out;
    }
}
