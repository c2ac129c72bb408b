package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * The recurrent state a Mamba-1 model carries from one token to the next, per layer: the last
 * k−1 conv inputs (b, di, k−1) and the SSM state h (b, di, n). Zero at the start of a sequence.
 */
public final class DecodeState {
    final Tensor[] conv;
    final Tensor[] ssm;
    public final int batch;

    /** stateDims[i]: layer i's SSM state width (d_state, wider with Additional-scan). */
    public DecodeState(Backend backend, MambaConfig cfg, int batch, int[] stateDims) {
        this.batch = batch;
        conv = new Tensor[cfg.nLayers()];
        ssm = new Tensor[cfg.nLayers()];
        for (int i = 0; i < cfg.nLayers(); i++) {
            conv[i] = backend.allocate(batch, cfg.innerDim(), cfg.convWidth() - 1);
            ssm[i] = backend.allocate(batch, cfg.innerDim(), stateDims[i]);
        }
    }
}
