package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The low-rank (LoRA) updates of a mixer's linear layers, forward and backward, beside the frozen
 * layers' own linear ops: out[:, rows] += scale·B·A·dropout(x) (the LowRank seams of either model).
 */
public final class LowRankPass {
    private final Backend backend;

    /**
     * What a low-rank update keeps: its dropped-out input xd (T, in), h = xd·Aᵀ (T, rank), and where its dropout drew from (seed
     * null: none). The backward draws the same mask again rather than keeping it.
     */
    public record Activation(LowRank update, Tensor xd, Tensor h, Tensor dropoutSeed, long dropoutSalt) {}

    public LowRankPass(Backend backend) {
        this.backend = backend;
    }

    /**
     * out[:, rows] += scale · B · A · x[:, xCol : xCol+in] for each of the updates that is on `module`.
     * When saved is non-null (training) dropout applies, with draws fixed by the step's seed (ResidualLM's
     * dropoutSeed) and the layer, and what the backward needs is kept.
     */
    public void forward(List<LowRank> updates, String module, Tensor x, int xCol, Tensor out, List<Activation> saved, Tensor stepSeed,
                        int layer) {
        int tokens = (int) x.size(0), k = 0;
        for (LowRank lr : updates) {
            if (!lr.module().equals(module)) continue;
            Tensor xd = backend.allocate(tokens, lr.A().size(1));
            backend.copyColumns(x, xCol, xd);
            boolean drops = saved != null && lr.dropout() > 0;
            long salt = layer * 1_000_003L + module.hashCode() * 7L + k;
            if (drops) backend.dropout(xd, lr.dropout(), stepSeed, salt, null);
            Tensor h = backend.allocate(tokens, lr.A().size(0)), up = backend.allocate(tokens, lr.rowTo() - lr.rowFrom());
            backend.linear(xd, 0, lr.A(), null, h);
            backend.linear(h, 0, lr.B(), null, up);
            backend.addScaledColumns(out, lr.rowFrom(), up, lr.scale());
            if (saved != null) saved.add(new Activation(lr, xd, h, drops ? stepSeed : null, salt));
            k++;
        }
    }

    /** The backward of `forward`: dA, dB += …, and dx[:, 0:in] += ∂/∂x, from dOut of the whole linear. */
    public void backward(List<Activation> saved, String module, Tensor dOut, Tensor dx) {
        for (Activation act : saved) {
            LowRank lr = act.update();
            if (!lr.module().equals(module)) continue;
            int tokens = (int) dOut.size(0);
            Tensor dUp = backend.allocate(tokens, lr.rowTo() - lr.rowFrom());
            backend.addScaledColumns(dUp, 0, columns(dOut, lr.rowFrom(), lr.rowTo()), lr.scale());
            Tensor dh = backend.allocate(act.h().shape()), dxd = backend.allocate(act.xd().shape());
            backend.linearBackward(act.h(), 0, lr.B(), dUp, dh, 0, lr.dB(), null);
            backend.linearBackward(act.xd(), 0, lr.A(), dh, dxd, 0, lr.dA(), null);
            if (act.dropoutSeed() != null)   // ∂/∂x of x ⊙ mask: the forward's draws again, on dxd
                backend.dropout(dxd, lr.dropout(), act.dropoutSeed(), act.dropoutSalt(), null);
            backend.addScaledColumns(dx, 0, dxd, 1f);
        }
    }

    /** The tensors these activations hold, for a scope to keep. */
    public static List<Tensor> tensors(List<Activation> saved) {
        List<Tensor> all = new ArrayList<>();
        for (Activation a : saved) {
            all.add(a.xd());
            all.add(a.h());
        }
        return all;
    }

    /** src[:, from:to] as a contiguous (T, to−from) tensor. */
    private Tensor columns(Tensor src, int from, int to) {
        Tensor out = backend.allocate(src.size(0), to - from);
        backend.copyColumns(src, from, out);
        return out;
    }
}
