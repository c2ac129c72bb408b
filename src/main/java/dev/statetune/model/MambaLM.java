package dev.statetune.model;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.io.Checkpoint;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Mamba-1 causal language model (Hugging Face `MambaForCausalLM`): embedding, L residual blocks
 * `u + mixer(rmsnorm(u))`, final norm, lm_head (tied to the embedding unless the checkpoint has
 * its own). The same code runs a whole sequence and a one-token decode step: both continue from a
 * DecodeState, which a sequence forward starts at zero.
 */
public final class MambaLM implements AutoCloseable {
    private final MambaConfig cfg;
    private final Backend backend;
    private final Checkpoint checkpoint;
    private final Tensor embedding;   // (vocab, d)
    private final MambaLayer[] layers;
    private final Tensor normF;       // (d)
    private final Tensor lmHead;      // (vocab, d)

    public MambaLM(Checkpoint ckpt, Backend backend) {
        this.cfg = ckpt.config();
        this.backend = backend;
        this.checkpoint = ckpt;
        int d = cfg.modelDim(), di = cfg.innerDim(), n = cfg.stateDim(), r = cfg.dtRank(), k = cfg.convWidth();
        Tensor emb = ckpt.tensors().get("backbone.embeddings.weight");
        if (emb == null) throw new StatetuneException(ckpt.dir() + ": missing tensor backbone.embeddings.weight");
        if (emb.size(0) != cfg.vocabSize())
            throw new StatetuneException(ckpt.dir() + ": the embedding has " + emb.size(0) + " rows but config.json implies a vocabulary of " + cfg.vocabSize());
        embedding = backend.prepareWeight(ckpt.get("backbone.embeddings.weight", cfg.vocabSize(), d));
        layers = new MambaLayer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "backbone.layers." + i + ".";
            String m = p + "mixer.";
            layers[i] = new MambaLayer(
                    ckpt.get(p + "norm.weight", d),
                    backend.prepareWeight(ckpt.get(m + "in_proj.weight", 2L * di, d)),
                    cfg.useBias() ? ckpt.get(m + "in_proj.bias", 2L * di) : null,
                    ckpt.get(m + "conv1d.weight", di, 1, k),
                    cfg.useConvBias() ? ckpt.get(m + "conv1d.bias", di) : null,
                    backend.prepareWeight(ckpt.get(m + "x_proj.weight", r + 2L * n, di)),
                    backend.prepareWeight(ckpt.get(m + "dt_proj.weight", di, r)),
                    ckpt.get(m + "dt_proj.bias", di),
                    negExp(ckpt.get(m + "A_log", di, n)),
                    ckpt.get(m + "D", di),
                    backend.prepareWeight(ckpt.get(m + "out_proj.weight", d, di)),
                    cfg.useBias() ? ckpt.get(m + "out_proj.bias", d) : null);
        }
        normF = ckpt.get("backbone.norm_f.weight", d);
        lmHead = cfg.tieEmbeddings() || !ckpt.has("lm_head.weight") ? embedding
                : backend.prepareWeight(ckpt.get("lm_head.weight", cfg.vocabSize(), d));
        if (!cfg.tieEmbeddings() && !ckpt.has("lm_head.weight"))
            throw new StatetuneException(ckpt.dir() + ": config.json says the lm_head is not tied, but lm_head.weight is missing");
    }

    private static Tensor negExp(Tensor aLog) {
        float[] a = aLog.toFloatArray();
        for (int i = 0; i < a.length; i++) a[i] = (float) -Math.exp(a[i]);
        return Tensor.of(a, aLog.shape());
    }

    public MambaConfig config() { return cfg; }
    public Backend backend() { return backend; }

    public DecodeState newState(int batch) {
        return new DecodeState(backend, cfg, batch);
    }

    /**
     * Logits (batch·len, vocab) for ids (batch, len), continuing from state (which is updated to
     * the end of the sequences). A fresh state gives the whole-sequence forward.
     */
    public Tensor forward(int[][] ids, DecodeState state) {
        int batch = ids.length, len = ids[0].length, tokens = batch * len;
        if (state.batch != batch) throw new IllegalArgumentException("state for batch " + state.batch + ", ids for " + batch);
        int[] flat = new int[tokens];
        for (int s = 0; s < batch; s++) {
            if (ids[s].length != len) throw new StatetuneException("all sequences of a batch must have the same length");
            checkTokenIds(ids[s]);
            System.arraycopy(ids[s], 0, flat, s * len, len);
        }
        Tensor residual = backend.allocate(tokens, cfg.modelDim());
        backend.embedding(embedding, flat, residual);
        Activations act = new Activations(backend, cfg, tokens);
        for (int i = 0; i < layers.length; i++) {
            mixer(layers[i], residual, act, batch, len, state.conv[i], state.ssm[i]);
            backend.addInPlace(residual, act.out);
        }
        backend.rmsNorm(residual, normF, cfg.normEps(), act.normed);
        Tensor logits = backend.allocate(tokens, cfg.vocabSize());
        backend.linear(act.normed, 0, lmHead, null, logits);
        return logits;
    }

    /** Fails with one line for an id outside the vocabulary. */
    public void checkTokenIds(int[] ids) {
        for (int id : ids)
            if (id < 0 || id >= cfg.vocabSize())
                throw new StatetuneException("token id " + id + " is outside the vocabulary (0.." + (cfg.vocabSize() - 1) + ")");
    }

    /** Logits (batch, vocab) of one new token per sequence, advancing state by one position. */
    public Tensor step(int[] ids, DecodeState state) {
        int[][] column = new int[ids.length][];
        for (int s = 0; s < ids.length; s++) column[s] = new int[] {ids[s]};
        return forward(column, state);
    }

    /** act.out (T, d) = mixer(rmsnorm(u)) of PAPER_NOTES.md, for u (T, d). */
    private void mixer(MambaLayer w, Tensor u, Activations act, int batch, int len, Tensor convState, Tensor ssmState) {
        int di = cfg.innerDim(), r = cfg.dtRank();
        backend.rmsNorm(u, w.norm(), cfg.normEps(), act.normed);
        backend.linear(act.normed, 0, w.inProj(), w.inProjBias(), act.xz);                 // (T, 2di): x | z
        backend.causalConv1dSilu(act.xz, batch, len, w.convWeight(), w.convBias(), convState, act.x);
        backend.linear(act.x, 0, w.xProj(), null, act.dtBC);                               // (T, r+2n): dt | B | C
        backend.linear(act.dtBC, 0, w.dtProj(), w.dtProjBias(), act.dt);                   // (T, di)
        backend.softplusInPlace(act.dt);
        backend.selectiveScan(act.x, act.dt, w.A(), act.dtBC, r, w.D(), act.xz, di, batch, len, ssmState, null, null, act.y);
        backend.linear(act.y, 0, w.outProj(), w.outProjBias(), act.out);
    }

    /** Per-forward scratch buffers, reused by every layer. */
    private static final class Activations {
        final Tensor normed, xz, x, dtBC, dt, y, out;

        Activations(Backend b, MambaConfig c, int tokens) {
            normed = b.allocate(tokens, c.modelDim());
            xz = b.allocate(tokens, 2L * c.innerDim());
            x = b.allocate(tokens, c.innerDim());
            dtBC = b.allocate(tokens, c.dtRank() + 2L * c.stateDim());
            dt = b.allocate(tokens, c.innerDim());
            y = b.allocate(tokens, c.innerDim());
            out = b.allocate(tokens, c.modelDim());
        }
    }

    /** Row `row` of a (rows, vocab) logits tensor as a heap array. */
    public static float[] row(Tensor logits, int row) {
        int v = (int) logits.size(1);
        float[] out = new float[v];
        MemorySegment.copy(logits.data(), Tensor.F32, (long) row * v * 4, out, 0, v);
        return out;
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
