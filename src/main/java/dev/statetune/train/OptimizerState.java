package dev.statetune.train;

import dev.statetune.StatetuneException;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/** The "step" counter both optimizers keep in their state map, as torch keeps it: a scalar. */
final class OptimizerState {
    static final String STEP = "step";

    private OptimizerState() {}

    static Tensor step(long step) {
        return new Tensor(MemorySegment.ofArray(new long[] {step}), DType.I64);
    }

    static long step(Map<String, Tensor> state) {
        Tensor t = state.get(STEP);
        if (t == null || t.dtype() != DType.I64 || t.numel() != 1)
            throw new StatetuneException("optimizer state: missing or malformed \"step\"");
        return t.getLong(0);
    }
}
