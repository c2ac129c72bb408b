package dev.statetune.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** The elementwise activations, scalar and vectorised, with torch's definitions. */
final class CpuMath {
    private CpuMath() {}

    static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    static FloatVector silu(FloatVector v) {
        return v.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
    }

    /** torch.nn.functional.softplus with its default threshold: x > 20 stays x. */
    static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }

    static FloatVector softplus(FloatVector v) {
        return v.lanewise(VectorOperators.EXP).lanewise(VectorOperators.LOG1P).blend(v, v.compare(VectorOperators.GT, 20f));
    }
}
