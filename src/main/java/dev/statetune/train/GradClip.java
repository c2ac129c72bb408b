package dev.statetune.train;

import dev.statetune.backend.Backend;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;

import java.util.List;

/**
 * Gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics: the L2 norm over all
 * gradients together; when it exceeds the maximum, every gradient is scaled by max / (norm + 1e-6).
 * A non-finite norm leaves the gradients untouched (torch would turn them all into NaN); the caller
 * sees it and can skip the step. The work is the backend's, decided where the gradients are.
 */
public final class GradClip {
    private GradClip() {}

    /**
     * Queues sumOfSquares (1, F64; Backend.allocateSums) += Σ g² over every gradient, then, with maxNorm &gt; 0,
     * the clip: nothing waits for the host, which reads the norm as √sumOfSquares once the step is done.
     */
    public static void queue(Backend backend, List<Parameter> params, double maxNorm, Tensor sumOfSquares) {
        List<Tensor> grads = params.stream().map(Parameter::gradTensor).toList();
        backend.sumOfSquares(grads, sumOfSquares);
        if (maxNorm > 0) backend.clipToNorm(grads, sumOfSquares, maxNorm);
    }

    /** The L2 norm of all gradients, as one vector; summed in double so that large models do not lose bits. */
    public static double globalNorm(Backend backend, List<Parameter> params) {
        return clip(backend, params, 0);
    }

    /** Clips in place (maxNorm &gt; 0) and returns the norm before clipping, waiting for it. */
    public static double clip(Backend backend, List<Parameter> params, double maxNorm) {
        try (Backend.Scope scope = backend.openScope()) {
            Tensor sumOfSquares = backend.allocateSums(1);
            queue(backend, params, maxNorm, sumOfSquares);
            backend.synchronize();
            return Math.sqrt(sumOfSquares.getDouble(0));
        }
    }
}
