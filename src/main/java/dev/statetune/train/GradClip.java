package dev.statetune.train;

import dev.statetune.peft.Parameter;
import java.util.List;

/**
 * Gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics: the L2 norm over all
 * gradients together; when it exceeds the maximum, every gradient is scaled by max / (norm + 1e-6).
 */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of all gradients, as one vector; summed in double so that large models do not lose bits. */
    public static double globalNorm(List<Parameter> params) {
        double sum = 0;
        for (Parameter p : params) sum += Blocks.sumOfSquares(p.grad);
        return Math.sqrt(sum);
    }

    /**
     * Clips in place and returns the norm before clipping. A non-finite norm leaves the gradients
     * untouched (torch would turn them all into NaN); the caller sees it and can skip the step.
     */
    public static double clip(List<Parameter> params, double maxNorm) {
        double norm = globalNorm(params);
        double coef = maxNorm / (norm + 1e-6);
        if (Double.isFinite(norm) && coef < 1) {
            float c = (float) coef;
            for (Parameter p : params) {
                float[] g = p.grad;
                Blocks.forEach(g.length, (from, to) -> {
                    for (int i = from; i < to; i++) g[i] *= c;
                });
            }
        }
        return norm;
    }
}
