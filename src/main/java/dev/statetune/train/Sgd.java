package dev.statetune.train;

import dev.statetune.peft.Parameter;
import dev.statetune.StatetuneException;
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
    public void step(List<Parameter> params, double lr) {
        step++;
        float lrF = (float) lr, wd = (float) weightDecay;
        for (Parameter p : params) {
            float[] x = p.value, g = p.grad;
            boolean decays = p.weightDecay && weightDecay != 0;
            for (int i = 0; i < x.length; i++) {
                float d = decays ? g[i] + wd * x[i] : g[i];
                x[i] -= lrF * d;
            }
        }
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
