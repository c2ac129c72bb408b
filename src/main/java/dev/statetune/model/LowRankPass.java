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
     * What a low-rank update keeps: its dropped-out input xd (T, in; null where the backward hands the input back and xd is
     * drawn again from it), h = xd·Aᵀ (T, rank), and where its dropout drew from (seed null: none). The backward draws the same
     * mask again rather than keeping it.
     */
    public record Activation(LowRank update, Tensor xd, Tensor h, Tensor dropoutSeed, long dropoutSalt) {}

    public LowRankPass(Backend backend) {
        this.backend = backend;
    }

    /**
     * out[:, rows] += scale · B · A · x[:, xCol : xCol+in] for each of the updates that is on `module`.
     * When saved is non-null (training) dropout applies, with draws fixed by the step's seed (ResidualLM's
     * dropoutSeed) and the layer, and what the backward needs is kept: the dropped-out input itself, or, without keepInput, only
     * how to draw it again from the input that the backward then hands back.
     */
    public void forward(List<LowRank> updates, String module, Tensor x, int xCol, Tensor out, List<Activation> saved, Tensor stepSeed,
                        int layer, boolean keepInput) {
        int tokens = (int) x.size(0), k = 0;
        for (LowRank lr : updates) {
            if (!lr.module().equals(module)) continue;
            boolean drops = saved != null && lr.dropout() > 0;
            long salt = layer * 1_000_003L + module.hashCode() * 7L + k;
            Tensor xd = droppedInput(lr, x, xCol, drops ? stepSeed : null, salt);
            Tensor h = backend.allocate(tokens, lr.A().size(0)), up = backend.allocate(tokens, lr.rowTo() - lr.rowFrom());
            backend.linear(xd, 0, lr.A(), null, h);
            backend.linear(h, 0, lr.B(), null, up);
            backend.addScaledColumns(out, lr.rowFrom(), up, lr.scale());
            if (saved != null) saved.add(new Activation(lr, keepInput ? xd : null, h, drops ? stepSeed : null, salt));
            k++;
        }
    }

    /**
     * The backward of `forward`: dA, dB += …, and dx[:, 0:in] += ∂/∂x, from dOut of the whole linear; input (from column
     * inputCol) is the forward's x, which updates that did not keep their input draw it from again (null: all kept it).
     */
    public void backward(List<Activation> saved, String module, Tensor input, int inputCol, Tensor dOut, Tensor dx) {
        for (Activation act : saved) {
            LowRank lr = act.update();
            if (!lr.module().equals(module)) continue;
            int tokens = (int) dOut.size(0);
            Tensor xd = act.xd() != null ? act.xd() : droppedInput(lr, input, inputCol, act.dropoutSeed(), act.dropoutSalt());   // drawn again
            Tensor dUp = backend.allocate(tokens, lr.rowTo() - lr.rowFrom());
            backend.addScaledColumns(dUp, 0, columns(dOut, lr.rowFrom(), lr.rowTo()), lr.scale());
            Tensor dh = backend.allocate(act.h().shape()), dxd = backend.allocate(xd.shape());
            backend.linearBackward(act.h(), 0, lr.B(), dUp, dh, 0, lr.dB(), null);
            backend.linearBackward(xd, 0, lr.A(), dh, dxd, 0, lr.dA(), null);
            if (act.dropoutSeed() != null)   // ∂/∂x of x ⊙ mask: the forward's draws again, on dxd
                backend.dropout(dxd, 0, lr.dropout(), act.dropoutSeed(), act.dropoutSalt(), dxd, null);
            backend.addScaledColumns(dx, 0, dxd, 1f);
        }
    }

    /** x[:, xCol : xCol+in] (T, in), LowRank lr's input, dropped out by the draws of seed and salt (seed null: as it is). */
    private Tensor droppedInput(LowRank lr, Tensor x, int xCol, Tensor seed, long salt) {
        Tensor xd = backend.allocateForOverwrite(x.size(0), lr.A().size(1));
        if (seed == null) backend.copyColumns(x, xCol, xd);
        else backend.dropout(x, xCol, lr.dropout(), seed, salt, xd, null);
        return xd;
    }

    /** The tensors these activations hold (xd may be null), for a scope to keep. */
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
