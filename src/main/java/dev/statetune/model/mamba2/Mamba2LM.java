package dev.statetune.model.mamba2;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.TokenIds;
import dev.statetune.tensor.Tensor;

/**
 * Mamba-2 causal language model (Hugging Face `Mamba2ForCausalLM`, its torch path), forward only:
 * embedding, L residual blocks `u + mixer(rmsnorm(u))`, final norm, lm_head (tied to the embedding
 * unless the config says otherwise). The mixer: in_proj → z | xBC | dt, causal conv + SiLU over
 * xBC, the SSD scan, the gated RMSNorm with z, out_proj. A whole sequence and a one-token decode
 * step are the same code, continuing from a DecodeState (conv (b, convDim, k−1), h (b, nHeads, headDim, n)).
 */
public final class Mamba2LM implements LanguageModel {
    private final Mamba2Config cfg;
    private final Backend backend;
    private final Checkpoint checkpoint;
    private final Tensor embedding;       // (vocab, d)
    private final Mamba2Layer[] layers;
    private final Tensor normF;           // (d)
    private final Tensor lmHead;          // (vocab, d)
    private Mamba2Seams[] seams;          // per layer, filled by the PEFT methods

    public Mamba2LM(Checkpoint ckpt, Backend backend) {
        if (ckpt.configJson() == null || !Mamba2Config.describes(ckpt.configJson()))
            throw new StatetuneException(ckpt.dir() + ": not a Mamba-2 checkpoint (config.json has neither model_type mamba2 nor ssm_cfg.layer Mamba2)");
        this.cfg = Mamba2Config.fromJson(ckpt.configJson(), ckpt.dir().resolve("config.json"));
        this.backend = backend;
        this.checkpoint = ckpt;
        int d = cfg.modelDim(), di = cfg.innerDim(), conv = cfg.convDim(), nh = cfg.ssd().nHeads(), proj = cfg.inProjDim();
        embedding = weight("backbone.embeddings.weight", cfg.vocabSize(), d);
        layers = new Mamba2Layer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String m = "backbone.layers." + i + ".mixer.";
            layers[i] = new Mamba2Layer(weight("backbone.layers." + i + ".norm.weight", d),
                    weight(m + "in_proj.weight", proj, d), cfg.useBias() ? weight(m + "in_proj.bias", proj) : null,
                    weight(m + "conv1d.weight", conv, 1, cfg.convWidth()), cfg.useConvBias() ? weight(m + "conv1d.bias", conv) : null,
                    weight(m + "dt_bias", nh), negExp(weight(m + "A_log", nh)), weight(m + "D", nh), weight(m + "norm.weight", di),
                    weight(m + "out_proj.weight", d, di), cfg.useBias() ? weight(m + "out_proj.bias", d) : null);
        }
        normF = weight("backbone.norm_f.weight", d);
        lmHead = cfg.tieEmbeddings() ? embedding : weight("lm_head.weight", cfg.vocabSize(), d);
        seams = new Mamba2Seams[layers.length];
        java.util.Arrays.fill(seams, Mamba2Seams.NONE);
    }

    private Tensor weight(String name, long... shape) {
        return backend.prepareWeight(checkpoint.get(name, shape));
    }

    private static Tensor negExp(Tensor aLog) {
        float[] a = aLog.toFloatArray();
        for (int i = 0; i < a.length; i++) a[i] = (float) -Math.exp(a[i]);
        return Tensor.of(a, aLog.shape());
    }

    public Mamba2Config config() { return cfg; }
    @Override public Backend backend() { return backend; }
    @Override public int vocabSize() { return cfg.vocabSize(); }
    @Override public int eosTokenId() { return cfg.eosTokenId(); }
    @Override public long parameterCount() { return cfg.parameterCount(); }

    /** Plugs per-layer seams (one per layer) into the mixers; Mamba2Seams.NONE leaves a layer as the checkpoint has it. */
    public void setSeams(Mamba2Seams[] perLayer) {
        if (perLayer.length != layers.length) throw new IllegalArgumentException(perLayer.length + " seams for " + layers.length + " layers");
        seams = perLayer.clone();
    }

    /** The state before the first token: zero conv inputs, and zeros or the seams' initial SSM states. */
    @Override
    public DecodeState newState(int batch) {
        var ssd = cfg.ssd();
        Tensor[] conv = new Tensor[layers.length], ssm = new Tensor[layers.length];
        for (int i = 0; i < layers.length; i++) {
            conv[i] = backend.allocate(batch, cfg.convDim(), cfg.convWidth() - 1);
            ssm[i] = backend.allocate(batch, ssd.nHeads(), ssd.headDim(), ssd.stateDim());
            Tensor h0 = seams[i].h0();   // (nHeads, headDim, n)
            if (h0 != null) for (int s = 0; s < batch; s++) backend.copy(h0, ssm[i].rows(s, s + 1).reshape(h0.shape()));
        }
        return new DecodeState(conv, ssm, batch);
    }

    @Override
    public Tensor forward(int[][] ids, DecodeState state) {
        return head(residualStream(ids, state));
    }

    @Override
    public Tensor forwardLast(int[] ids, DecodeState state) {
        return head(gatherRows(residualStream(new int[][] {ids}, state), new long[] {ids.length - 1}));
    }

    /** Only the b rows at lengths[s]−1 go through the LM head; a causal model's logits there ignore the padding after them. */
    @Override
    public Tensor lastLogits(int[][] ids, int[] lengths) {
        return head(gatherRows(residualStream(ids, newState(ids.length)), TokenIds.lastRows(ids, lengths)));
    }

    @Override
    public Tensor step(int[] ids, DecodeState state) {
        return forward(TokenIds.column(ids), state);
    }

    /** The residual stream (b·len, d) after the last block for ids (b, len), continuing from state. */
    private Tensor residualStream(int[][] ids, DecodeState state) {
        int batch = ids.length, len = ids[0].length, tokens = batch * len;
        if (state.batch != batch) throw new IllegalArgumentException("state for batch " + state.batch + ", ids for " + batch);
        int[] flat = TokenIds.flatten(ids, cfg.vocabSize());
        Tensor residual = backend.allocate(tokens, cfg.modelDim());      // (T, d)
        backend.embedding(embedding, flat, residual);
        Activations act = new Activations(tokens);
        for (int i = 0; i < layers.length; i++) {
            mixer(i, residual, act, batch, len, state.conv(i), state.ssm(i));
            backend.addInPlace(residual, act.out);
        }
        return residual;
    }

    /** (rows.length, d) = residual[rows] for residual (T, d). */
    private Tensor gatherRows(Tensor residual, long[] rows) {
        Tensor out = backend.allocate(rows.length, cfg.modelDim());
        for (int s = 0; s < rows.length; s++) backend.copy(residual.rows(rows[s], rows[s] + 1), out.rows(s, s + 1));
        return out;
    }

    /** Logits (T, vocab) = lm_head(norm_f(residual)) for residual (T, d). */
    private Tensor head(Tensor residual) {
        long tokens = residual.size(0);
        Tensor normed = backend.allocate(tokens, cfg.modelDim());        // (T, d)
        backend.rmsNorm(residual, normF, cfg.normEps(), normed);
        Tensor logits = backend.allocate(tokens, cfg.vocabSize());       // (T, vocab)
        backend.linear(normed, 0, lmHead, null, logits);
        return logits;
    }

    /** act.out (T, d) = mixer(rmsnorm(u)) of layer i for u (T, d), continuing from the layer's states. */
    private void mixer(int i, Tensor u, Activations act, int batch, int len, Tensor convState, Tensor ssmState) {
        Mamba2Layer w = layers[i];
        int di = cfg.innerDim();
        backend.rmsNorm(u, w.norm(), cfg.normEps(), act.normed);
        backend.linear(act.normed, 0, w.inProj(), w.inProjBias(), act.zxbcdt);
        backend.copyColumns(act.zxbcdt, di, act.xBCraw);
        backend.causalConv1dSilu(act.xBCraw, batch, len, w.convWeight(), w.convBias(), convState, act.xBC);
        backend.ssdScan(act.xBC, act.zxbcdt, di + cfg.convDim(), w.dtBias(), cfg.dtMin(), cfg.dtMax(), w.A(), w.D(), cfg.ssd(),
                batch, len, ssmState, seams[i].hOffset(), seams[i].yOffset(), act.y);
        backend.gatedRmsNorm(act.y, act.zxbcdt, 0, w.gatedNorm(), cfg.gatedNormGroup(), cfg.gatedNormEps(), act.gated);
        backend.linear(act.gated, 0, w.outProj(), w.outProjBias(), act.out);
    }

    /** Per-forward scratch buffers, reused by every layer. */
    private final class Activations {
        final Tensor normed;     // (T, d) the mixer's input
        final Tensor zxbcdt;     // (T, di + convDim + nHeads) in_proj output: z | xBC | dt
        final Tensor xBCraw;     // (T, convDim) the conv's input
        final Tensor xBC;        // (T, convDim) the conv's output: x | B | C
        final Tensor y;          // (T, di) the scan's output
        final Tensor gated;      // (T, di) after the gated norm
        final Tensor out;        // (T, d)

        Activations(int tokens) {
            normed = backend.allocate(tokens, cfg.modelDim());
            zxbcdt = backend.allocate(tokens, cfg.inProjDim());
            xBCraw = backend.allocate(tokens, cfg.convDim());
            xBC = backend.allocate(tokens, cfg.convDim());
            y = backend.allocate(tokens, cfg.innerDim());
            gated = backend.allocate(tokens, cfg.innerDim());
            out = backend.allocate(tokens, cfg.modelDim());
        }
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
