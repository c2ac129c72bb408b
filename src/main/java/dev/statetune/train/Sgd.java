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

    public Sgd(double weightDecay) {
        this.weightDecay = weightDecay;
    }

    @Override
    public void step(Backend backend, List<Parameter> params, double lr) {
        step++;
        for (Parameter p : params)
            backend.sgdStep(p.valueTensor(), p.gradTensor(), (float) lr, p.weightDecay ? (float) weightDecay : 0f);
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
