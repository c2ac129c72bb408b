package dev.statetune.train;

import dev.statetune.backend.Backend;
import dev.statetune.peft.Parameter;

import java.util.List;

/**
 * Gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics: the L2 norm over all
 * gradients together; when it exceeds the maximum, every gradient is scaled by max / (norm + 1e-6).
 * The work is the backend's (on its device copies of the gradients where it keeps them resident).
 */
public final class GradClip {
    private GradClip() {}

    /** The L2 norm of all gradients, as one vector; summed in double so that large models do not lose bits. */
    public static double globalNorm(Backend backend, List<Parameter> params) {
        return Math.sqrt(backend.sumOfSquares(params.stream().map(Parameter::gradTensor).toList()));
    }

    /**
     * Clips in place and returns the norm before clipping. A non-finite norm leaves the gradients
     * untouched (torch would turn them all into NaN); the caller sees it and can skip the step.
     */
    public static double clip(Backend backend, List<Parameter> params, double maxNorm) {
        double norm = globalNorm(backend, params);
        double coef = maxNorm / (norm + 1e-6);
        if (Double.isFinite(norm) && coef < 1)
            for (Parameter p : params) backend.scaleInPlace(p.gradTensor(), (float) coef);
        return norm;
    }
}
