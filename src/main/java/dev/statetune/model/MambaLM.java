package dev.statetune.model;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.ScanGrads;
import dev.statetune.io.Checkpoint;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Mamba-1 causal language model (Hugging Face `MambaForCausalLM`): embedding, L residual blocks
 * `u + mixer(rmsnorm(u))`, final norm, lm_head (tied to the embedding unless the checkpoint has
 * its own). The same code runs a whole sequence and a one-token decode step: both continue from a
 * DecodeState, which a sequence forward starts at zero.
 */
public final class MambaLM extends ResidualLM<LayerActivations> {
    private final MambaConfig cfg;
    private final Checkpoint checkpoint;
    private final LowRankPass lowRank;
    private final WideScan wide;
    private MambaLayer[] layers;
    private Seams[] seams;            // per layer, filled by the PEFT methods

    public MambaLM(Checkpoint ckpt, Backend backend) {
        super(ckpt, backend);
        this.cfg = ckpt.config();
        this.checkpoint = ckpt;
        this.lowRank = new LowRankPass(backend);
        this.wide = new WideScan(backend);
        int d = cfg.modelDim(), di = cfg.innerDim(), n = cfg.stateDim(), r = cfg.dtRank(), k = cfg.convWidth();
        Tensor emb = ckpt.tensors().get("backbone.embeddings.weight");
        if (emb == null) throw new StatetuneException(ckpt.dir() + ": missing tensor backbone.embeddings.weight");
        if (emb.size(0) != cfg.vocabSize())
            throw new StatetuneException(ckpt.dir() + ": the embedding has " + emb.size(0) + " rows but config.json implies a vocabulary of " + cfg.vocabSize());
        weights.store("backbone.embeddings.weight", cfg.vocabSize(), d);
        for (int i = 0; i < cfg.nLayers(); i++) {
            String m = "backbone.layers." + i + ".mixer.";
            weights.store("backbone.layers." + i + ".norm.weight", d);
            weights.store(m + "in_proj.weight", 2L * di, d);
            if (cfg.useBias()) weights.store(m + "in_proj.bias", 2L * di);
            weights.store(m + "conv1d.weight", di, 1, k);
            if (cfg.useConvBias()) weights.store(m + "conv1d.bias", di);
            weights.store(m + "x_proj.weight", r + 2L * n, di);
            weights.store(m + "dt_proj.weight", di, r);
            weights.store(m + "dt_proj.bias", di);
            weights.store(m + "A_log", di, n);
            weights.store(m + "D", di);
            weights.store(m + "out_proj.weight", d, di);
            if (cfg.useBias()) weights.store(m + "out_proj.bias", d);
        }
        weights.store("backbone.norm_f.weight", d);
        if (!cfg.tieEmbeddings()) {
            if (!ckpt.has("lm_head.weight"))
                throw new StatetuneException(ckpt.dir() + ": config.json says the lm_head is not tied, but lm_head.weight is missing");
            weights.store("lm_head.weight", cfg.vocabSize(), d);
        }
        seams = new Seams[cfg.nLayers()];
        java.util.Arrays.fill(seams, Seams.NONE);
        build();
    }

    private Tensor weight(String name) {
        return weights.weight(name);
    }

    /** (Re)assembles the layers from the current weights; A = −exp(A_log) is derived here. */
    @Override
    protected void build() {
        embedding = weight("backbone.embeddings.weight");
        layers = new MambaLayer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String m = "backbone.layers." + i + ".mixer.";
            layers[i] = new MambaLayer(weight("backbone.layers." + i + ".norm.weight"), weight(m + "in_proj.weight"),
                    weight(m + "in_proj.bias"), weight(m + "conv1d.weight"), weight(m + "conv1d.bias"), weight(m + "x_proj.weight"),
                    weight(m + "dt_proj.weight"), weight(m + "dt_proj.bias"), negExp(weight(m + "A_log")), weight(m + "D"),
                    weight(m + "out_proj.weight"), weight(m + "out_proj.bias"));
        }
        normF = weight("backbone.norm_f.weight");
        lmHead = cfg.tieEmbeddings() ? embedding : weight("lm_head.weight");
    }


    /** Back to the checkpoint as it is: no seams, no trained weights. */
    public void clearAdaptation() {
        java.util.Arrays.fill(seams, Seams.NONE);
        setSoftPrompt(null, null);
        setTrainedWeights(Map.of());
    }

    /** Plugs per-layer seams (one per layer) into the mixers; Seams.NONE leaves a layer as the checkpoint has it. */
    public void setSeams(Seams[] perLayer) {
        if (perLayer.length != layers.length) throw new IllegalArgumentException(perLayer.length + " seams for " + layers.length + " layers");
        seams = perLayer.clone();
    }

    public MambaConfig config() { return cfg; }
    @Override public int vocabSize() { return cfg.vocabSize(); }
    @Override public int eosTokenId() { return cfg.eosTokenId(); }
    @Override public long parameterCount() { return cfg.parameterCount(); }

    /**
     * The state before the first token: zeros, or the initial states the seams hold, and then the
     * soft prompt (Prompt Tuning) read, so that generation continues after it.
     */
    @Override
    public DecodeState newState(int batch) {
        DecodeState state = seamState(batch);
        if (softPrompt == null && java.util.Arrays.stream(seams).allMatch(s -> s.prefix() == null)) return state;
        DecodeState one = seamState(1);
        for (int i = 0; i < layers.length; i++) {   // Prefix-Tuning: each mixer reads its virtual tokens first
            Seams seam = seams[i];
            if (seam.prefix() == null) continue;
            Activations act = new Activations(backend, cfg, seam.virtualTokens());
            backend.copy(seam.prefix(), act.normed);
            mixerOnNormed(layers[i], seam, act, 1, seam.virtualTokens(), one.conv[i], one.ssm[i]);
        }
        if (softPrompt == null) {
            broadcastStates(one, state);
            return state;
        }
        Tensor residual = backend.allocate(softPrompt.shape());
        backend.copy(softPrompt, residual);
        runLayers(residual, 1, (int) softPrompt.size(0), one);
        broadcastStates(one, state);
        return state;
    }

    /** Every sequence of `to` starts from the single sequence of `one`. */
    private void broadcastStates(DecodeState one, DecodeState to) {
        for (int i = 0; i < layers.length; i++) {
            broadcast(one.ssm[i].reshape(one.ssm[i].shape()[1], one.ssm[i].shape()[2]), to.ssm[i]);
            broadcast(one.conv[i].reshape(one.conv[i].shape()[1], one.conv[i].shape()[2]), to.conv[i]);
        }
    }

    /** Zeros, or the initial states the seams hold. */
    @Override
    protected DecodeState seamState(int batch) {
        int[] widths = java.util.Arrays.stream(seams).mapToInt(s -> s.stateDim(cfg.stateDim())).toArray();
        DecodeState state = new DecodeState(backend, cfg, batch, widths);
        for (int i = 0; i < layers.length; i++) {
            broadcast(seams[i].h0(), state.ssm[i]);
            broadcast(seams[i].conv0(), state.conv[i]);
        }
        return state;
    }

    /** Prompt Tuning: M virtual input embeddings (M, d) read before every sequence, and their gradient (or null). */
    public void setSoftPrompt(Tensor prompt, Tensor grad) {
        softPrompt = prompt;
        dSoftPrompt = grad;
    }

    /** Each of perBatch's b rows = one (or zeros when one is null). */
    private void broadcast(Tensor one, Tensor perBatch) {
        if (one == null) return;
        for (int s = 0; s < perBatch.size(0); s++) backend.copy(one, perBatch.rows(s, s + 1).reshape(one.shape()));
    }

    @Override
    protected float normEps() {
        return cfg.normEps();
    }

    @Override
    protected void runLayers(Tensor residual, int batch, int len, DecodeState state) {
        Activations act = new Activations(backend, cfg, batch * len);   // block i: residual += mixer(rmsnorm(residual)), PAPER_NOTES.md
        for (int i = 0; i < layers.length; i++) {
            if (i == 0) backend.rmsNorm(residual, layers[i].norm(), cfg.normEps(), act.normed);
            else backend.addRmsNorm(residual, act.out, layers[i].norm(), cfg.normEps(), act.normed);   // with block i−1's output
            mixerOnNormed(layers[i], seams[i], act, batch, len, state.conv[i], state.ssm[i]);
        }
        backend.addInPlace(residual, act.out);
    }

    /** act.out (T, d) from the mixer's input act.normed (T, d). */
    private void mixerOnNormed(MambaLayer w, Seams seam, Activations act, int batch, int len, Tensor convState, Tensor ssmState) {
        int di = cfg.innerDim(), r = cfg.dtRank();
        backend.linear(act.normed, 0, w.inProj(), w.inProjBias(), act.xz);                 // (T, 2di): x | z
        lowRank.forward(seam.lowRank(), "in_proj", act.normed, 0, act.xz, null, null, 0, true);
        backend.causalConv1dSilu(act.xz, 0, batch, len, w.convWeight(), w.convBias(), convState, act.x);
        backend.linear(act.x, 0, w.xProj(), null, act.dtBC);                               // (T, r+2n): dt | B | C
        lowRank.forward(seam.lowRank(), "x_proj", act.x, 0, act.dtBC, null, null, 0, true);
        ExtraState extra = seam.extra();
        Tensor A = extra == null ? w.A() : wide.A(w.A(), extra);
        Tensor bc = extra == null ? act.dtBC : wide.bc(act.dtBC, r, cfg.stateDim(), act.x, extra);
        int bCol = extra == null ? r : 0;
        if (len == 1 && !seam.lowRankOn("dt_proj")) {   // a decode step: dt_proj inside
            backend.selectiveScanStep(act.dtBC, w.dtProj(), w.dtProjBias(), act.dt, act.x, A, bc, bCol, w.D(), act.xz, di, batch, ssmState,
                    seam.hOffset(), seam.yOffset(), act.y);
        } else {
            backend.linear(act.dtBC, 0, w.dtProj(), w.dtProjBias(), act.dt);               // (T, di), before the scan's softplus
            lowRank.forward(seam.lowRank(), "dt_proj", act.dtBC, 0, act.dt, null, null, 0, true);
            backend.selectiveScan(act.x, act.dt, A, bc, bCol, w.D(), act.xz, di, batch, len, ssmState, seam.hOffset(), seam.yOffset(), act.y);
        }
        backend.linear(act.y, 0, w.outProj(), w.outProjBias(), act.out);
        lowRank.forward(seam.lowRank(), "out_proj", act.y, 0, act.out, null, null, 0, true);
    }

    /** Per-forward scratch buffers, reused by every layer. */
    private static final class Activations {
        final Tensor normed, xz, x, dtBC, dt, y, out;

        Activations(Backend b, MambaConfig c, int tokens) {
            normed = b.allocateLinearInput(tokens, c.modelDim());   // each written in full by its op
            xz = b.allocateForOverwrite(tokens, 2L * c.innerDim());
            x = b.allocateLinearInput(tokens, c.innerDim());
            dtBC = b.allocateForOverwrite(tokens, c.dtRank() + 2L * c.stateDim());
            dt = b.allocateForOverwrite(tokens, c.innerDim());
            y = b.allocateLinearInput(tokens, c.innerDim());
            out = b.allocateForOverwrite(tokens, c.modelDim());
        }
    }

    @Override protected int modelDim() { return cfg.modelDim(); }
    @Override protected int nLayers() { return layers.length; }
    @Override protected boolean tiedEmbeddings() { return cfg.tieEmbeddings(); }

    @Override
    protected TrainedBlock<LayerActivations> trainBlock(int i, Tensor u, int batch, int len, DecodeState start) {
        LayerActivations a = mixerForTraining(i, u, batch, len, start.conv[i], start.ssm[i]);
        Tensor out = backend.allocate(a.y().size(0), cfg.modelDim());   // the prefix's rows are dropped below
        backend.linear(a.y(), 0, layers[i].outProj(), layers[i].outProjBias(), out);
        lowRank.forward(seams[i].lowRank(), "out_proj", a.y(), 0, out, a.lowRank(), dropoutSeed, i, true);
        if (grad("backbone.layers." + i + ".mixer.out_proj.weight") == null) a = a.withoutY();   // only out_proj's dW reads y
        return new TrainedBlock<>(a, a.tensors(), VirtualRows.dropLeading(backend, out, batch, len, a.virtual(), null));
    }

    /**
     * The mixer of `mixer`, keeping what the backward needs and cannot recompute cheaply (the
     * backward recomputes the conv, the norm where in_proj is trained and, unless LoRA changes it,
     * dt_proj's output; the scan takes dt before its softplus). in_proj's output x | z is kept as
     * Backend.allocateKept's (bf16 on CUDA with --dtype bf16) unless a bias or LoRA adds to it; its
     * gradient is then allocateKeptGradient's.
     */
    private LayerActivations mixerForTraining(int layer, Tensor u, int batch, int len, Tensor conv0, Tensor h0) {
        MambaLayer w = layers[layer];
        Seams seam = seams[layer];
        int virtual = seam.virtualTokens();
        Tensor normedIn = normedInput(layer, u, batch, len);
        len += virtual;
        int tokens = batch * len, di = cfg.innerDim(), r = cfg.dtRank();
        // these four are written in full by their ops
        Tensor xz = plainInProj(layer) ? backend.allocateKept(tokens, 2L * di) : backend.allocateForOverwrite(tokens, 2L * di);
        Tensor dtBC = backend.allocateForOverwrite(tokens, r + 2L * cfg.stateDim());
        Tensor dtRaw = backend.allocateForOverwrite(tokens, di), y = backend.allocateLinearInput(tokens, di);
        Tensor state = backend.allocate(h0.shape());
        backend.copy(h0, state);
        List<LowRankPass.Activation> lr = new ArrayList<>();
        backend.linear(normedIn, 0, w.inProj(), w.inProjBias(), xz);
        lowRank.forward(seam.lowRank(), "in_proj", normedIn, 0, xz, lr, dropoutSeed, layer, true);
        Tensor x = convOutput(w, xz, conv0, batch, len);
        backend.linear(x, 0, w.xProj(), null, dtBC);
        lowRank.forward(seam.lowRank(), "x_proj", x, 0, dtBC, lr, dropoutSeed, layer, false);   // the backward recomputes x
        backend.linear(dtBC, 0, w.dtProj(), w.dtProjBias(), dtRaw);
        lowRank.forward(seam.lowRank(), "dt_proj", dtBC, 0, dtRaw, lr, dropoutSeed, layer, false);   // dtBC is kept
        ExtraState extra = seam.extra();
        Tensor scanA = extra == null ? w.A() : wide.A(w.A(), extra);
        Tensor scanBC = extra == null ? dtBC : wide.bc(dtBC, r, cfg.stateDim(), x, extra);
        int scanBCol = extra == null ? r : 0;
        Tensor memo = backend.scanMemo(batch, len, di, (int) scanA.size(1));
        backend.selectiveScan(x, dtRaw, scanA, scanBC, scanBCol, w.D(), xz, di, batch, len, state, seam.hOffset(), seam.yOffset(), y, memo);
        boolean dtRecomputable = !seam.lowRankOn("dt_proj");
        return new LayerActivations(virtual, u, xz, dtBC, dtRecomputable ? null : dtRaw, y, scanA, scanBC, scanBCol, h0, conv0, memo, lr);
    }

    /** Whether in_proj's output is the product alone (no bias, no LoRA), so that its training copy may be allocateKept's. */
    private boolean plainInProj(int layer) {
        return layers[layer].inProjBias() == null && !seams[layer].lowRankOn("in_proj");
    }

    /** dt before the softplus (T′, di), recomputed from x_proj's output: dt_proj without a low-rank update, as in the forward. */
    private Tensor dtProjOutput(MambaLayer w, Tensor dtBC) {
        Tensor dtRaw = backend.allocateForOverwrite(dtBC.size(0), cfg.innerDim());
        backend.linear(dtBC, 0, w.dtProj(), w.dtProjBias(), dtRaw);
        return dtRaw;
    }

    /** Layer `layer`'s mixer input (b·(M+len), d) for u (b·len, d): its prefix, then its norm of u. */
    private Tensor normedInput(int layer, Tensor u, int batch, int len) {
        return normedInput(u, layers[layer].norm(), cfg.normEps(), seams[layer].prefix(), batch, len);
    }

    /** x (T, di) = silu(conv(xz[:, 0:di])) from the conv inputs conv0 (b, di, k−1) before the first position. */
    private Tensor convOutput(MambaLayer w, Tensor xz, Tensor conv0, int batch, int len) {
        Tensor x = backend.allocateLinearInput(xz.size(0), cfg.innerDim()), convState = backend.allocate(conv0.shape());
        backend.copy(conv0, convState);
        backend.causalConv1dSilu(xz, 0, batch, len, w.convWeight(), w.convBias(), convState, x);
        return x;
    }

    /** The mixer's forward in reverse. */
    @Override
    protected void backwardBlock(int layer, LayerActivations a, int batch, int len, Tensor dResidual) {
        MambaLayer w = layers[layer];
        Seams seam = seams[layer];
        String m = "backbone.layers." + layer + ".mixer.";
        int realLen = len;
        Tensor dInProj = grad(m + "in_proj.weight");
        Tensor normedIn = dInProj == null ? null : normedInput(layer, a.u(), batch, len);   // in_proj's dW alone reads it
        Tensor dOut = VirtualRows.prepend(backend, a.virtual() == 0 ? null : backend.allocate(a.virtual(), cfg.modelDim()), dResidual, batch, len);
        len += a.virtual();
        int tokens = batch * len, di = cfg.innerDim(), r = cfg.dtRank();
        Tensor x = convOutput(w, a.xz(), a.conv0(), batch, len);
        Tensor dy = backend.allocateForOverwrite(tokens, di);   // this one and the next two: their first op writes them
        backend.linearBackwardOverwritingDx(a.y(), 0, w.outProj(), dOut, dy, grad(m + "out_proj.weight"), grad(m + "out_proj.bias"));
        lowRank.backward(a.lowRank(), "out_proj", null, 0, dOut, dy);
        Tensor dx = backend.allocateForOverwrite(tokens, di), ddtRaw = backend.allocateForOverwrite(tokens, di);   // ∂L/∂dt before the softplus
        Tensor ddtBC = backend.allocate(tokens, r + 2L * cfg.stateDim());
        Tensor dxz = plainInProj(layer) ? backend.allocateKeptGradient(tokens, 2L * di) : backend.allocate(tokens, 2L * di);
        Tensor dh0 = seam.dh0() == null ? null : backend.allocate(a.h0().shape());
        ExtraState extra = seam.extra();
        Tensor dALog = grad(m + "A_log");
        Tensor dA = dALog == null && extra == null ? null : backend.allocate(a.scanA().shape());
        Tensor dbc = extra == null ? ddtBC : backend.allocate(a.scanBC().shape());
        Tensor dtRaw = a.dtRaw() != null ? a.dtRaw() : dtProjOutput(w, a.dtBC());
        backend.selectiveScanBackward(x, dtRaw, a.scanA(), a.scanBC(), a.scanBCol(), w.D(), a.xz(), di, batch, len, a.h0(),
                seam.hOffset(), seam.yOffset(), dy,
                new ScanGrads(dx, ddtRaw, dbc, dxz, dA, grad(m + "D"), dh0, seam.dhOffset(), seam.dyOffset()), a.memo());
        sumOverBatch(dh0, seam.dh0());
        if (extra != null) dA = wide.backward(dbc, dA, a.scanA(), r, cfg.stateDim(), x, extra, ddtBC, dx);
        if (dALog != null) {   // A = −exp(A_log), so ∂A/∂A_log = A
            backend.multiplyInPlace(dA, w.A());
            backend.addInPlace(dALog, dA);
        }
        backend.linearBackward(a.dtBC(), 0, w.dtProj(), ddtRaw, ddtBC, 0, grad(m + "dt_proj.weight"), grad(m + "dt_proj.bias"));
        lowRank.backward(a.lowRank(), "dt_proj", a.dtBC(), 0, ddtRaw, ddtBC);
        backend.linearBackward(x, 0, w.xProj(), ddtBC, dx, 0, grad(m + "x_proj.weight"), null);
        lowRank.backward(a.lowRank(), "x_proj", x, 0, ddtBC, dx);
        Tensor dconv0 = seam.dconv0() == null ? null : backend.allocate(a.conv0().shape());
        backend.causalConv1dSiluBackward(a.xz(), 0, batch, len, w.convWeight(), w.convBias(), a.conv0(), dx, dxz,
                grad(m + "conv1d.weight"), grad(m + "conv1d.bias"), dconv0);
        sumOverBatch(dconv0, seam.dconv0());
        Tensor dNormedIn = backend.allocateForOverwrite(tokens, cfg.modelDim());
        backend.linearBackwardOverwritingDx(normedIn, 0, w.inProj(), dxz, dNormedIn, dInProj, grad(m + "in_proj.bias"));
        lowRank.backward(a.lowRank(), "in_proj", null, 0, dxz, dNormedIn);
        Tensor dNormed = VirtualRows.dropLeading(backend, dNormedIn, batch, realLen, a.virtual(), seam.dPrefix());
        backend.rmsNormBackward(a.u(), w.norm(), cfg.normEps(), dNormed, dResidual, grad("backbone.layers." + layer + ".norm.weight"));
    }

    /** acc (…) += Σ_s perBatch[s] for perBatch (b, …); nothing when either is null. */
    private void sumOverBatch(Tensor perBatch, Tensor acc) {
        if (perBatch == null || acc == null) return;
        for (int s = 0; s < perBatch.size(0); s++) backend.addInPlace(acc, perBatch.rows(s, s + 1).reshape(acc.shape()));
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
