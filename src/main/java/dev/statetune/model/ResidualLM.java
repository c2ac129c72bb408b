package dev.statetune.model;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.io.Checkpoint;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What both models do around their blocks: the embedded ids (after the soft prompt) start the
 * residual stream, the blocks run over it (the model's own runLayers, trainBlock, backwardBlock),
 * and norm_f + lm_head read all of its rows or some; in training, the loss and the walk back.
 *
 * @param <S> what a block's training forward keeps for its backward
 */
public abstract class ResidualLM<S> implements LanguageModel {
    protected final Backend backend;
    protected Tensor embedding;   // (vocab, d), set when the model (re)builds its weights
    protected Tensor normF;       // (d)
    protected Tensor lmHead;      // (vocab, d): the embedding when tied
    protected Tensor softPrompt, dSoftPrompt;   // (M, d) Prompt Tuning's virtual input embeddings, its gradient (or null)
    protected final WeightStore weights;        // the checkpoint's weights, and the trained ones
    /** Fixes the dropout draws of the next training forward (I64 (1), a host array: Backend.dropout reads it when it runs). */
    protected final Tensor dropoutSeed = new Tensor(MemorySegment.ofArray(new long[1]), DType.I64, 1);

    /** A block's training forward: what its backward reads, the tensors of it to keep past the block, and the mixer's output (T, d). */
    public record TrainedBlock<S>(S saved, Tensor[] kept, Tensor out) {}

    protected ResidualLM(Checkpoint checkpoint, Backend backend) {
        this.backend = backend;
        this.weights = new WeightStore(checkpoint, backend);
    }

    /** (Re)assembles the model from the current weights (the embedding, norm_f and lm_head fields among them). */
    protected abstract void build();

    /** A = −exp(A_log) on the backend (a trained A_log's current values may be on the GPU only). */
    protected Tensor negExp(Tensor aLog) {
        Tensor a = negExps.computeIfAbsent(aLog, k -> backend.allocate(k.shape()));
        backend.negExp(aLog, a);
        return a;
    }

    /**
     * negExp's results by A_log tensor: a rebuild for a trained A_log (every training step) writes the
     * same tensor again, so that a step allocates nothing outside its scope and a recorded step (CUDA
     * graph) recomputes it in place.
     */
    private final Map<Tensor, Tensor> negExps = new IdentityHashMap<>();

    @Override
    public Tensor storedWeight(String name) {
        return weights.stored(name);
    }

    @Override
    public List<String> weightNames() {
        return weights.names();
    }

    @Override
    public void setTrainedWeights(Map<String, TrainedWeight> trained) {
        weights.train(trained);
        negExps.clear();
        build();
    }

    @Override
    public void setDropoutSeed(long seed) {
        // × the golden-ratio γ: the seeds of consecutive steps lie far apart, so no layer's salt makes two steps draw alike
        dropoutSeed.data().set(ValueLayout.JAVA_LONG, 0, seed * 0x9E3779B97F4A7C15L);
    }

    /** residual (b·len, d) through every block, in place, continuing from state. */
    protected abstract void runLayers(Tensor residual, int batch, int len, DecodeState state);

    /** norm_f's epsilon. */
    protected abstract float normEps();

    protected abstract int modelDim();

    protected abstract int nLayers();

    protected abstract boolean tiedEmbeddings();

    /** The gradient buffer of a checkpoint weight by Hugging Face name, or null when it is frozen. */
    protected Tensor grad(String name) {
        return weights.grad(name);
    }

    /** The state a training sequence starts from: zeros, or the initial states the seams hold. */
    protected abstract DecodeState seamState(int batch);

    /** Block `layer`'s training forward from its input u (T, d) over sequences of len tokens (soft prompt included). */
    protected abstract TrainedBlock<S> trainBlock(int layer, Tensor u, int batch, int len, DecodeState start);

    /** dResidual (T, d) holds ∂loss/∂(block output); on return, ∂loss/∂(block input). */
    protected abstract void backwardBlock(int layer, S saved, int batch, int len, Tensor dResidual);

    @Override
    public LossResult loss(int[][] ids, int[][] labels, boolean backward) {
        try (Backend.Scope scope = backend.openScope()) {
            Tensor sums = backend.allocateSums(LossResult.SUMS);
            addLoss(tokens(ids, labels), backward, sums);
            backend.synchronize();   // the gradients are complete (and back in host memory) when loss returns
            return LossResult.of(sums);
        }
    }

    @Override
    public TokenBatch tokens(int[][] ids, int[][] labels) {
        int batch = ids.length, real = ids[0].length, len = virtualTokens() + real;
        int[] targets = new int[batch * len];
        Arrays.fill(targets, -100);
        for (int s = 0; s < batch; s++)
            for (int t = 0; t + 1 < real; t++) {
                int target = labels[s][t + 1];
                if (target >= vocabSize()) throw new StatetuneException("label " + target + " is outside the vocabulary (0.." + (vocabSize() - 1) + ")");
                targets[s * len + virtualTokens() + t] = target;
            }
        return new TokenBatch(batch, real, TokenIds.flatten(ids, vocabSize()), targets);
    }

    private int virtualTokens() {
        return softPrompt == null ? 0 : (int) softPrompt.size(0);
    }

    /**
     * Each block keeps only what its backward reads, and its temporaries die with it. With backward the
     * backward runs also when no position has a target (its gradients are then zero), so that the work
     * queued does not depend on the labels' values.
     */
    @Override
    public void addLoss(TokenBatch tokens, boolean backward, Tensor sums) {
        if (weights.anyTrained()) build();   // the optimizer changed the trained values (A = −exp(A_log) is derived)
        try (Backend.Scope step = backend.openScope()) {   // every tensor of the step dies with it
            int batch = tokens.batch(), real = tokens.len(), virtual = virtualTokens();
            int len = virtual + real, rows = batch * len;     // each sequence: the soft prompt, then its tokens
            DecodeState start = seamState(batch);
            Tensor embedded = backend.allocate((long) batch * real, modelDim());   // (b·real, d)
            backend.embedding(embedding, tokens.ids(), embedded);
            Tensor residual = VirtualRows.prepend(backend, softPrompt, embedded, batch, real);   // (T, d)
            List<S> saved = new ArrayList<>();
            for (int i = 0; i < nLayers(); i++)
                try (Backend.Scope layer = backend.openScope()) {   // the block's temporaries die here
                    TrainedBlock<S> block = trainBlock(i, residual, batch, len, start);
                    residual = LmHead.sum(backend, residual, block.out());
                    layer.keep(residual);
                    layer.keep(block.kept());
                    saved.add(block.saved());
                }
            Tensor hidden = backend.allocate(rows, modelDim());        // (T, d)
            backend.rmsNorm(residual, normF, normEps(), hidden);
            Tensor dHidden = backward ? backend.allocate(rows, modelDim()) : null;
            Tensor dEmbedding = grad("backbone.embeddings.weight");
            backend.crossEntropy(hidden, lmHead, tokens.targets(), dHidden, tiedEmbeddings() ? dEmbedding : grad("lm_head.weight"), sums);
            if (!backward) return;
            Tensor dResidual = backend.allocate(rows, modelDim());     // (T, d)
            backend.rmsNormBackward(residual, normF, normEps(), dHidden, dResidual, grad("backbone.norm_f.weight"));
            for (int i = nLayers() - 1; i >= 0; i--)
                try (Backend.Scope layer = backend.openScope()) {   // the block's gradient temporaries die here
                    backwardBlock(i, saved.get(i), batch, len, dResidual);
                }
            Tensor dEmbedded = VirtualRows.dropLeading(backend, dResidual, batch, real, virtual, dSoftPrompt);
            if (dEmbedding != null) backend.embeddingBackward(tokens.ids(), dEmbedded, dEmbedding);
        }
    }

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

    /**
     * A block's mixer input (b·(M+len), d): its prefix (M, d; null: none), then rmsnorm(u)·norm,
     * per sequence, for u (b·len, d).
     */
    protected Tensor normedInput(Tensor u, Tensor norm, float eps, Tensor prefix, int batch, int len) {
        Tensor normed = backend.allocateLinearInput(u.size(0), u.size(1));   // in_proj reads it
        backend.rmsNorm(u, norm, eps, normed);
        return VirtualRows.prepend(backend, prefix, normed, batch, len);
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
