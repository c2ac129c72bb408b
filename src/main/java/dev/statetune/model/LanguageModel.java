package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

/**
 * What generation, evaluation and the inference commands need of a causal language model, Mamba-1
 * (MambaLM) or Mamba-2 (Mamba2LM): a forward over a batch that continues a DecodeState, a decode
 * step, and the config facts they print or stop on; and what training needs: the loss with its
 * hand-written backward, and the checkpoint weights a method may train.
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

    /**
     * Logits (batch, vocab) after the last token of each row of ids (batch, len), continuing state
     * (batch rows), which ends after them; only these rows go through the LM head.
     */
    Tensor forwardLast(int[][] ids, DecodeState state);

    /** Logits (b, vocab) at position lengths[s]−1 of each right-padded sequence of ids (b, len), from newState. */
    Tensor lastLogits(int[][] ids, int[] lengths);

    /** Logits (batch, vocab) of one new token per sequence, advancing state by one position. */
    Tensor step(int[] ids, DecodeState state);

    /** Fails with one line for an id outside the vocabulary. */
    default void checkTokenIds(int[] ids) {
        TokenIds.check(ids, vocabSize());
    }

    /**
     * The token-mean cross entropy of ids (batch, len) against labels (batch, len) in Hugging
     * Face's convention (aligned with ids, −100 ignored, shifted here: position t predicts
     * labels[t+1]). With backward, the attached seams' and trained weights' gradients accumulate.
     */
    LossResult loss(int[][] ids, int[][] labels, boolean backward);

    /**
     * A batch as the host arrays a loss reads: ids (batch·len) and the target of every position the
     * model runs over (batch·(M+len) with M soft-prompt rows; −100: none), checked against the vocabulary.
     */
    record TokenBatch(int batch, int len, int[] ids, int[] targets) {}

    /** ids and labels as for loss, flattened and shifted into a TokenBatch. */
    TokenBatch tokens(int[][] ids, int[][] labels);

    /**
     * loss's work on the backend without reading its result: adds the sums (LossResult.SUMS) into
     * `sums` (Backend.allocateSums), so that a training step queues it and reads the loss when the
     * step is done. The gradients are complete after Backend.synchronize.
     */
    void addLoss(TokenBatch batch, boolean backward, Tensor sums);

    /** The dropout draws of the following loss(…, backward = true) calls are a function of this seed alone. */
    void setDropoutSeed(long seed);

    /** The checkpoint's tensor under its Hugging Face name (shape-checked at load), for methods that start from it. */
    Tensor storedWeight(String name);

    /** Names of the checkpoint's weights, sorted. */
    List<String> weightNames();

    /** Trains these checkpoint weights: their values replace the stored ones and the backward fills their gradients. */
    void setTrainedWeights(Map<String, TrainedWeight> weights);

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
