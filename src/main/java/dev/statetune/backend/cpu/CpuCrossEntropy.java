package dev.statetune.backend.cpu;

import dev.statetune.backend.LossResult;
import dev.statetune.backend.cpu.CpuMatmulAcc.View;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The LM head fused with cross entropy: logits are computed only for the rows that have a target,
 * a chunk of rows at a time, so the (T, vocab) logits never exist whole. Returns the summed loss
 * and how many argmax predictions hit their target; with dHidden given it also accumulates
 * ∂mean/∂hidden (and ∂/∂W into dW when the head is trained), the mean over the targets.
 */
final class CpuCrossEntropy {
    private static final int CHUNK = 64;

    private CpuCrossEntropy() {}

    static LossResult run(Parallel par, Tensor hidden, Tensor w, int[] targets, Tensor dHidden, Tensor dW) {
        int d = (int) hidden.size(1), vocab = (int) w.size(0);
        int[] rows = java.util.stream.IntStream.range(0, targets.length).filter(t -> targets[t] >= 0).toArray();
        float scale = rows.length == 0 ? 0 : 1f / rows.length;
        double loss = 0;
        int correct = 0;
        for (int from = 0; from < rows.length; from += CHUNK) {
            int m = Math.min(CHUNK, rows.length - from);
            Tensor h = Tensor.zeros(m, d), logits = Tensor.zeros(m, vocab);
            for (int i = 0; i < m; i++)
                MemorySegment.copy(hidden.data(), (long) rows[from + i] * d * 4, h.data(), (long) i * d * 4, (long) d * 4);
            CpuMatmul.linear(par, h, 0, w, null, logits);
            MemorySegment lg = logits.data();
            for (int i = 0; i < m; i++) {
                int target = targets[rows[from + i]];
                if (target >= vocab) throw new IllegalArgumentException("target id " + target + " outside the vocabulary");
                long base = (long) i * vocab;
                float max = Float.NEGATIVE_INFINITY;
                int argmax = 0;
                for (int v = 0; v < vocab; v++) {
                    float x = lg.getAtIndex(Tensor.F32, base + v);
                    if (x > max) { max = x; argmax = v; }
                }
                float targetLogit = lg.getAtIndex(Tensor.F32, base + target);
                double sum = 0;
                for (int v = 0; v < vocab; v++) {   // the row becomes exp(logit − max), summed in a fixed order
                    float e = CpuMath.exp(lg.getAtIndex(Tensor.F32, base + v) - max);
                    lg.setAtIndex(Tensor.F32, base + v, e);
                    sum += e;
                }
                loss += StrictMath.log(sum) + max - targetLogit;
                if (argmax == target) correct++;
                if (dHidden == null) continue;
                for (int v = 0; v < vocab; v++) {   // and then dlogits = scale·(softmax − onehot)
                    float p = (float) (lg.getAtIndex(Tensor.F32, base + v) / sum);
                    lg.setAtIndex(Tensor.F32, base + v, scale * (p - (v == target ? 1f : 0f)));
                }
            }
            if (dHidden == null) continue;
            Tensor dh = Tensor.zeros(m, d);
            CpuMatmulAcc.accumulate(par, new View(lg, DType.F32, 0, vocab, 1), new View(w.data(), w.dtype(), 0, d, 1),
                    new View(dh.data(), DType.F32, 0, d, 1), m, vocab, d);
            for (int i = 0; i < m; i++)
                for (int c = 0; c < d; c++) {
                    long at = (long) rows[from + i] * d + c;
                    dHidden.data().setAtIndex(Tensor.F32, at, dHidden.data().getAtIndex(Tensor.F32, at) + dh.data().getAtIndex(Tensor.F32, (long) i * d + c));
                }
            if (dW != null)
                CpuMatmulAcc.accumulate(par, new View(lg, DType.F32, 0, 1, vocab), new View(h.data(), DType.F32, 0, d, 1),
                        new View(dW.data(), DType.F32, 0, d, 1), vocab, m, d);
        }
        return new LossResult(loss, rows.length, correct);
    }
}
