package dev.statetune.model.mamba2;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.SsdGrads;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LowRankPass;
import dev.statetune.model.ResidualLM;
import dev.statetune.model.VirtualRows;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Mamba-2 causal language model (Hugging Face `Mamba2ForCausalLM`, its torch path): embedding, L
 * residual blocks `u + mixer(rmsnorm(u))`, final norm, lm_head (tied to the embedding unless the
 * config says otherwise). The mixer: in_proj → z | xBC | dt, causal conv + SiLU over xBC, the SSD
 * scan, the gated RMSNorm with z, out_proj. A whole sequence and a one-token decode step are the
 * same code, continuing from a DecodeState (conv (b, convDim, k−1), h (b, nHeads, headDim, n));
 * loss() adds the hand-written backward, the mixer's ops in reverse.
 */
public final class Mamba2LM extends ResidualLM<Mamba2Activations> {
    private final Mamba2Config cfg;
    private final Checkpoint checkpoint;
    private final LowRankPass lowRank;
    private Mamba2Layer[] layers;
    private Mamba2Seams[] seams;              // per layer, filled by the PEFT methods

    public Mamba2LM(Checkpoint ckpt, Backend backend) {
        super(ckpt, backend);
        if (ckpt.configJson() == null || !Mamba2Config.describes(ckpt.configJson()))
            throw new StatetuneException(ckpt.dir() + ": not a Mamba-2 checkpoint (config.json has neither model_type mamba2 nor ssm_cfg.layer Mamba2)");
        this.cfg = Mamba2Config.fromJson(ckpt.configJson(), ckpt.dir().resolve("config.json"));
        this.checkpoint = ckpt;
        this.lowRank = new LowRankPass(backend);
        int d = cfg.modelDim(), di = cfg.innerDim(), conv = cfg.convDim(), nh = cfg.ssd().nHeads(), proj = cfg.inProjDim();
        weights.store("backbone.embeddings.weight", cfg.vocabSize(), d);
        for (int i = 0; i < cfg.nLayers(); i++) {
            String m = "backbone.layers." + i + ".mixer.";
            weights.store("backbone.layers." + i + ".norm.weight", d);
            weights.store(m + "in_proj.weight", proj, d);
            if (cfg.useBias()) weights.store(m + "in_proj.bias", proj);
            weights.store(m + "conv1d.weight", conv, 1, cfg.convWidth());
            if (cfg.useConvBias()) weights.store(m + "conv1d.bias", conv);
            weights.store(m + "dt_bias", nh);
            weights.store(m + "A_log", nh);
            weights.store(m + "D", nh);
            weights.store(m + "norm.weight", di);
            weights.store(m + "out_proj.weight", d, di);
            if (cfg.useBias()) weights.store(m + "out_proj.bias", d);
        }
        weights.store("backbone.norm_f.weight", d);
        if (!cfg.tieEmbeddings()) weights.store("lm_head.weight", cfg.vocabSize(), d);
        seams = new Mamba2Seams[cfg.nLayers()];
        Arrays.fill(seams, Mamba2Seams.NONE);
        build();
    }

    /** (Re)assembles the layers from the current weights; A = −exp(A_log) is derived here. */
    @Override
    protected void build() {
        embedding = weights.weight("backbone.embeddings.weight");
        layers = new Mamba2Layer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String m = "backbone.layers." + i + ".mixer.";
            layers[i] = new Mamba2Layer(weights.weight("backbone.layers." + i + ".norm.weight"), weights.weight(m + "in_proj.weight"),
                    weights.weight(m + "in_proj.bias"), weights.weight(m + "conv1d.weight"), weights.weight(m + "conv1d.bias"),
                    weights.weight(m + "dt_bias"), negExp(weights.weight(m + "A_log")), weights.weight(m + "D"),
                    weights.weight(m + "norm.weight"), weights.weight(m + "out_proj.weight"), weights.weight(m + "out_proj.bias"));
        }
        normF = weights.weight("backbone.norm_f.weight");
        lmHead = cfg.tieEmbeddings() ? embedding : weights.weight("lm_head.weight");
    }

    public Mamba2Config config() { return cfg; }
    @Override public int vocabSize() { return cfg.vocabSize(); }
    @Override public int eosTokenId() { return cfg.eosTokenId(); }
    @Override public long parameterCount() { return cfg.parameterCount(); }

    /** Plugs per-layer seams (one per layer) into the mixers; Mamba2Seams.NONE leaves a layer as the checkpoint has it. */
    public void setSeams(Mamba2Seams[] perLayer) {
        if (perLayer.length != layers.length) throw new IllegalArgumentException(perLayer.length + " seams for " + layers.length + " layers");
        seams = perLayer.clone();
    }

    /** Prompt Tuning: M virtual input embeddings (M, d) read before every sequence, and their gradient (or null). */
    public void setSoftPrompt(Tensor prompt, Tensor grad) {
        softPrompt = prompt;
        dSoftPrompt = grad;
    }

    /**
     * The state before the first token: the seams' initial states, each mixer's prefix read, then the
     * soft prompt read (batch 1, copied to each row).
     */
    @Override
    public DecodeState newState(int batch) {
        if (softPrompt == null && Arrays.stream(seams).allMatch(s -> s.prefix() == null)) return seamState(batch);
        DecodeState one = seamState(1), state = seamState(batch);
        for (int i = 0; i < layers.length; i++) {   // Prefix-Tuning: each mixer reads its virtual tokens first
            Mamba2Seams seam = seams[i];
            if (seam.prefix() == null) continue;
            Activations act = new Activations(seam.virtualTokens());
            backend.copy(seam.prefix(), act.normed);
            mixerOnNormed(i, act, 1, seam.virtualTokens(), one.conv(i), one.ssm(i), null);
        }
        if (softPrompt != null) {
            Tensor residual = backend.allocate(softPrompt.shape());            // (M, d)
            backend.copy(softPrompt, residual);
            runLayers(residual, 1, (int) softPrompt.size(0), one);
        }
        for (int i = 0; i < layers.length; i++)
            for (int s = 0; s < batch; s++) {
                backend.copy(one.conv(i), state.conv(i).rows(s, s + 1));
                backend.copy(one.ssm(i), state.ssm(i).rows(s, s + 1));
            }
        return state;
    }

    /** Zero conv inputs, and zeros or the seams' initial SSM states. */
    @Override
    protected DecodeState seamState(int batch) {
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
    protected float normEps() {
        return cfg.normEps();
    }

    @Override
    protected void runLayers(Tensor residual, int batch, int len, DecodeState state) {
        Activations act = new Activations(batch * len);   // block i: residual += mixer(rmsnorm(residual))
        for (int i = 0; i < layers.length; i++) {
            if (i == 0) backend.rmsNorm(residual, layers[i].norm(), cfg.normEps(), act.normed);
            else backend.addRmsNorm(residual, act.out, layers[i].norm(), cfg.normEps(), act.normed);   // with block i−1's output
            mixerOnNormed(i, act, batch, len, state.conv(i), state.ssm(i), null);
        }
        backend.addInPlace(residual, act.out);
    }

    /**
     * act.out (T, d) from the mixer's input act.normed (T, d) of layer i, continuing from the layer's
     * conv (b, convDim, k−1) and SSM (b, nHeads, headDim, n) states. With saved non-null (training),
     * LoRA's dropout applies and its activations are kept there.
     */
    private void mixerOnNormed(int i, Activations act, int batch, int len, Tensor convState, Tensor ssmState, List<LowRankPass.Activation> saved) {
        Mamba2Layer w = layers[i];
        Mamba2Seams seam = seams[i];
        int di = cfg.innerDim();
        // in training the low-rank updates keep no input: the backward recomputes the norm and the gated norm
        backend.linear(act.normed, 0, w.inProj(), w.inProjBias(), act.zxbcdt);
        lowRank.forward(seam.lowRank(), "in_proj", act.normed, 0, act.zxbcdt, saved, dropoutSeed, i, false);
        backend.causalConv1dSilu(act.zxbcdt, di, batch, len, w.convWeight(), w.convBias(), convState, act.xBC);   // over its xBC columns
        backend.ssdScan(act.xBC, act.zxbcdt, di + cfg.convDim(), w.dtBias(), cfg.dtMin(), cfg.dtMax(), w.A(), w.D(), cfg.ssd(),
                batch, len, ssmState, seam.hOffset(), seam.yOffset(), act.y);
        backend.gatedRmsNorm(act.y, act.zxbcdt, 0, w.gatedNorm(), cfg.gatedNormGroup(), cfg.gatedNormEps(), act.gated);
        backend.linear(act.gated, 0, w.outProj(), w.outProjBias(), act.out);
        lowRank.forward(seam.lowRank(), "out_proj", act.gated, 0, act.out, saved, dropoutSeed, i, false);
    }

    /** One layer's mixer buffers: scratch reused by every layer in inference, one layer's temporaries in training. */
    private final class Activations {
        final Tensor normed;     // (T, d) the mixer's input
        final Tensor zxbcdt;     // (T, di + convDim + nHeads) in_proj output: z | xBC | dt
        final Tensor xBC;        // (T, convDim) the conv's output: x | B | C
        final Tensor y;          // (T, di) the scan's output
        final Tensor gated;      // (T, di) after the gated norm
        final Tensor out;        // (T, d)

        Activations(int tokens) {
            this(backend.allocateLinearInput(tokens, cfg.modelDim()), false);
        }

        /**
         * Around a mixer input already computed (T, d); the rest each written in full by its op, zxbcdt kept for the backward
         * (Backend.allocateKept) when `kept`.
         */
        Activations(Tensor normed, boolean kept) {
            int tokens = (int) normed.size(0);
            this.normed = normed;
            zxbcdt = kept ? backend.allocateKept(tokens, cfg.inProjDim()) : backend.allocateForOverwrite(tokens, cfg.inProjDim());
            xBC = backend.allocateForOverwrite(tokens, cfg.convDim());
            y = backend.allocateForOverwrite(tokens, cfg.innerDim());
            gated = backend.allocateLinearInput(tokens, cfg.innerDim());
            out = backend.allocateForOverwrite(tokens, cfg.modelDim());
        }
    }

    @Override protected int modelDim() { return cfg.modelDim(); }
    @Override protected int nLayers() { return layers.length; }
    @Override protected boolean tiedEmbeddings() { return cfg.tieEmbeddings(); }

    @Override
    protected TrainedBlock<Mamba2Activations> trainBlock(int i, Tensor u, int batch, int len, DecodeState start) {
        Mamba2Seams seam = seams[i];
        int withPrefix = seam.virtualTokens() + len;                   // the mixer reads the layer's prefix first
        Activations act = new Activations(normedInput(i, u, batch, len), plainInProj(i));   // normed (b·withPrefix, d): its bf16 copy stays current
        Tensor state = backend.allocate(start.ssm(i).shape());       // (b, nHeads, headDim, n), advanced by the scan
        backend.copy(start.ssm(i), state);
        Mamba2Activations saved = new Mamba2Activations(u, act.zxbcdt, act.y, start.ssm(i), new ArrayList<>());
        mixerOnNormed(i, act, batch, withPrefix, start.conv(i), state, saved.lowRank());
        return new TrainedBlock<>(saved, saved.tensors(), VirtualRows.dropLeading(backend, act.out, batch, len, seam.virtualTokens(), null));
    }

    /** The mixer in reverse. */
    @Override
    protected void backwardBlock(int layer, Mamba2Activations a, int batch, int realLen, Tensor dResidual) {
        Mamba2Layer w = layers[layer];
        Mamba2Seams seam = seams[layer];
        String m = "backbone.layers." + layer + ".mixer.";
        int virtual = seam.virtualTokens(), len = virtual + realLen;     // the prefix's outputs were dropped: no gradient
        int tokens = batch * len, di = cfg.innerDim(), conv = cfg.convDim();
        Tensor dInProj = weights.grad(m + "in_proj.weight");
        Tensor normed = dInProj == null && !seam.lowRankOn("in_proj") ? null   // (T′, d) the forward's, for in_proj's dW or LoRA
                : normedInput(layer, a.u(), batch, realLen);
        Tensor xBC = backend.allocateForOverwrite(tokens, conv);          // (T′, convDim)
        backend.causalConv1dSilu(a.zxbcdt(), di, batch, len, w.convWeight(), w.convBias(), backend.allocate(batch, conv, cfg.convWidth() - 1), xBC);
        Tensor dOutProj = weights.grad(m + "out_proj.weight"), gated = null;   // gated (T′, di): only out_proj's dW and LoRA read it
        if (dOutProj != null || seam.lowRankOn("out_proj")) {
            gated = backend.allocateForOverwrite(tokens, di);
            backend.gatedRmsNorm(a.y(), a.zxbcdt(), 0, w.gatedNorm(), cfg.gatedNormGroup(), cfg.gatedNormEps(), gated);
        }
        Tensor dOut = VirtualRows.prepend(backend, virtual == 0 ? null : backend.allocate(virtual, cfg.modelDim()), dResidual, batch, realLen);
        Tensor dGated = backend.allocateForOverwrite(tokens, di);        // (T, di), written by its first op
        backend.linearBackwardOverwritingDx(gated, 0, w.outProj(), dOut, dGated, dOutProj, weights.grad(m + "out_proj.bias"));
        lowRank.backward(a.lowRank(), "out_proj", gated, 0, dOut, dGated);
        Tensor dy = backend.allocate(tokens, di);                        // (T, di)
        Tensor dZxbcdt = plainInProj(layer) ? backend.allocateKeptGradient(tokens, cfg.inProjDim()) : backend.allocate(tokens, cfg.inProjDim());
        backend.gatedRmsNormBackward(a.y(), a.zxbcdt(), 0, w.gatedNorm(), cfg.gatedNormGroup(), cfg.gatedNormEps(), dGated, dy, dZxbcdt,
                weights.grad(m + "norm.weight"));
        Tensor dXBC = backend.allocate(tokens, conv);                    // (T, convDim)
        Tensor dh0 = seam.dh0() == null ? null : backend.allocate(a.h0().shape());
        Tensor dALog = weights.grad(m + "A_log"), dA = dALog == null ? null : backend.allocate(w.A().shape());
        backend.ssdScanBackward(xBC, a.zxbcdt(), di + conv, w.dtBias(), cfg.dtMin(), cfg.dtMax(), w.A(), w.D(), cfg.ssd(), batch, len,
                a.h0(), seam.hOffset(), seam.yOffset(), dy,
                new SsdGrads(dXBC, dZxbcdt, weights.grad(m + "dt_bias"), dA, weights.grad(m + "D"), dh0, seam.dhOffset(), seam.dyOffset()));
        if (dh0 != null)
            for (int s = 0; s < batch; s++) backend.addInPlace(seam.dh0(), dh0.rows(s, s + 1).reshape(seam.dh0().shape()));
        if (dALog != null) {   // A = −exp(A_log), so ∂A/∂A_log = A
            backend.multiplyInPlace(dA, w.A());
            backend.addInPlace(dALog, dA);
        }
        backend.causalConv1dSiluBackward(a.zxbcdt(), di, batch, len, w.convWeight(), w.convBias(), null, dXBC, dZxbcdt,   // its xBC columns
                weights.grad(m + "conv1d.weight"), weights.grad(m + "conv1d.bias"), null);
        Tensor dNormed = backend.allocateForOverwrite(tokens, cfg.modelDim());   // (T, d), written by its first op
        backend.linearBackwardOverwritingDx(normed, 0, w.inProj(), dZxbcdt, dNormed, dInProj, weights.grad(m + "in_proj.bias"));
        lowRank.backward(a.lowRank(), "in_proj", normed, 0, dZxbcdt, dNormed);
        Tensor dNormedReal = VirtualRows.dropLeading(backend, dNormed, batch, realLen, virtual, seam.dPrefix());   // (b·len, d)
        backend.rmsNormBackward(a.u(), w.norm(), cfg.normEps(), dNormedReal, dResidual, weights.grad("backbone.layers." + layer + ".norm.weight"));
    }

    /** Whether in_proj is the checkpoint's linear alone (no bias, no LoRA), which may write its output in bf16 (allocateKept). */
    private boolean plainInProj(int layer) {
        return layers[layer].inProjBias() == null && !seams[layer].lowRankOn("in_proj");
    }

    /** Layer `layer`'s mixer input (b·(M+len), d) for u (b·len, d): its prefix, then its norm of u. */
    private Tensor normedInput(int layer, Tensor u, int batch, int len) {
        return normedInput(u, layers[layer].norm(), cfg.normEps(), seams[layer].prefix(), batch, len);
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
