package dev.statetune.train;

import dev.statetune.backend.Backend;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Updates parameters from their gradients. The state is a flat map of tensors (the same names a
 * checkpoint stores) so that resuming restores it bit for bit.
 */
public sealed interface Optimizer permits AdamW, Sgd {
    /**
     * One update of every parameter with learning rate {@code lr}, by the backend's ops (on its device
     * copies of the arrays where it keeps them resident); gradients are left as they are.
     */
    default void step(Backend backend, List<Parameter> params, double lr) {
        prepare(lr);
        apply(backend, params);
    }

    /** The host half of a step: counts it and sets the scalars that apply's ops read (from a host array). */
    void prepare(double lr);

    /**
     * The device half of a step, after prepare: backend ops only, the same from step to step, so that a
     * recorded training step (Backend.captureStep) replays it and reads prepare's new scalars.
     */
    void apply(Backend backend, List<Parameter> params);

    /**
     * "&lt;param&gt;.exp_avg", "&lt;param&gt;.exp_avg_sq" (AdamW) and "step" (an I64 scalar); copies, not views,
     * of the host arrays (Backend.writeBackResident first when they are resident).
     */
    Map<String, Tensor> state();

    /** Restores what {@link #state()} returned, bit for bit; copies the values out of {@code state}. */
    void load(Map<String, Tensor> state);
}
