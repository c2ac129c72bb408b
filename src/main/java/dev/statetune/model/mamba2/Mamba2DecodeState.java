package dev.statetune.model.mamba2;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * The recurrent state a Mamba-2 model carries from one token to the next, per layer: the last k−1
 * conv inputs (b, convDim, k−1) and the SSM state h (b, nHeads, headDim, n). Zero at the start of
 * a sequence unless a method sets the initial state.
 */
public final class Mamba2DecodeState {
    final Tensor[] conv;
    final Tensor[] ssm;
    public final int batch;

    Mamba2DecodeState(Backend backend, Mamba2Config cfg, int batch) {
        this.batch = batch;
        conv = new Tensor[cfg.nLayers()];
        ssm = new Tensor[cfg.nLayers()];
        var ssd = cfg.ssd();
        for (int i = 0; i < cfg.nLayers(); i++) {
            conv[i] = backend.allocate(batch, cfg.convDim(), cfg.convWidth() - 1);
            ssm[i] = backend.allocate(batch, ssd.nHeads(), ssd.headDim(), ssd.stateDim());
        }
    }

    /** Layer i's SSM state (b, nHeads, headDim, n), for tests and methods that read it. */
    public Tensor ssm(int layer) { return ssm[layer]; }
}
