package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * The recurrent state a Mamba model carries from one token to the next, per layer: the last k−1
 * conv inputs and the SSM state h. Mamba-1: conv (b, di, k−1), h (b, di, n); Mamba-2: conv
 * (b, convDim, k−1), h (b, nHeads, headDim, n). Zero at the start of a sequence.
 */
public final class DecodeState {
    final Tensor[] conv;
    final Tensor[] ssm;
    public final int batch;

    /** Mamba-1's state; stateDims[i]: layer i's SSM state width (d_state, wider with Additional-scan). */
    public DecodeState(Backend backend, MambaConfig cfg, int batch, int[] stateDims) {
        this.batch = batch;
        conv = new Tensor[cfg.nLayers()];
        ssm = new Tensor[cfg.nLayers()];
        for (int i = 0; i < cfg.nLayers(); i++) {
            conv[i] = backend.allocate(batch, cfg.innerDim(), cfg.convWidth() - 1);
            ssm[i] = backend.allocate(batch, cfg.innerDim(), stateDims[i]);
        }
    }

    /** A state over these per-layer tensors, each (batch, …). */
    public DecodeState(Tensor[] conv, Tensor[] ssm, int batch) {
        this.conv = conv;
        this.ssm = ssm;
        this.batch = batch;
    }

    /** Layer i's conv inputs (b, channels, k−1). */
    public Tensor conv(int layer) { return conv[layer]; }

    /** Layer i's SSM state (b, …). */
    public Tensor ssm(int layer) { return ssm[layer]; }

    /**
     * A state of rows.length sequences where sequence s continues this state's sequence rows[s]
     * (beam search reorders and duplicates its beams this way; a row may repeat).
     */
    public DecodeState select(Backend backend, int[] rows) {
        Tensor[] newConv = new Tensor[conv.length], newSsm = new Tensor[ssm.length];
        for (int i = 0; i < conv.length; i++) {
            newConv[i] = gather(backend, conv[i], rows);
            newSsm[i] = gather(backend, ssm[i], rows);
        }
        return new DecodeState(newConv, newSsm, rows.length);
    }

    /** Sequence `row` of this state becomes a copy of sequence `fromRow` of `from` (same layer widths). */
    public void copyRow(Backend backend, DecodeState from, int fromRow, int row) {
        for (int i = 0; i < conv.length; i++) {
            backend.copy(from.conv[i].rows(fromRow, fromRow + 1), conv[i].rows(row, row + 1));
            backend.copy(from.ssm[i].rows(fromRow, fromRow + 1), ssm[i].rows(row, row + 1));
        }
    }

    /** (rows.length, ...) = t[rows] for t (b, ...). */
    private static Tensor gather(Backend backend, Tensor t, int[] rows) {
        long[] shape = t.shape();
        shape[0] = rows.length;
        Tensor out = backend.allocate(shape);
        for (int s = 0; s < rows.length; s++) backend.copy(t.rows(rows[s], rows[s] + 1), out.rows(s, s + 1));
        return out;
    }
}
