package dev.statetune.train;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain SGD (torch.optim.SGD, no momentum): p ← p − lr·(g + wd·p), the decay coupled into the
 * gradient as torch does, and only on parameters that take decay.
 */
public final class Sgd implements Optimizer {
    private final double weightDecay;
    private long step;
    /** This step's learning rate, which sgdStep reads. */
    private final float[] learningRate = new float[1];

    public Sgd(double weightDecay) {
        this.weightDecay = weightDecay;
    }

    @Override
    public void prepare(double lr) {
        step++;
        learningRate[0] = (float) lr;
    }

    @Override
    public void apply(Backend backend, List<Parameter> params) {
        for (Parameter p : params)
            backend.sgdStep(p.valueTensor(), p.gradTensor(), Tensor.of(learningRate, 1), p.weightDecay ? (float) weightDecay : 0f);
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(OptimizerState.STEP, OptimizerState.step(step));
        return out;
    }

    @Override
    public void load(Map<String, Tensor> state) {
        for (String key : state.keySet())
            if (!key.equals(OptimizerState.STEP))
                throw new StatetuneException("optimizer state: unexpected entry \"" + key + "\" for SGD (saved by another optimizer?)");
        step = OptimizerState.step(state);
    }
}
