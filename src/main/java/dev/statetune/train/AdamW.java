package dev.statetune.train;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW as torch.optim.AdamW(amsgrad=False, maximize=False), single-tensor path: decoupled decay
 * p ← p·(1 − lr·wd), m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², p ← p − lr/bc1 · m / (√v/√bc2 + ε).
 * Moments are fp32 like torch's fp32 state; the bias corrections are doubles like torch's Python floats.
 */
public final class AdamW implements Optimizer {
    private final double beta1, beta2, eps, weightDecay;
    private final Map<String, float[]> expAvg = new HashMap<>();
    private final Map<String, float[]> expAvgSq = new HashMap<>();
    private long step;
    /** This step's decay 1 − lr·wd, stepSize lr / bc1 and bc2 = √(1 − β2^step) (Backend.AdamWStep.schedule). */
    private final float[] schedule = new float[3];

    /** The paper's β = (0.9, 0.999), ε = 1e-8. */
    public AdamW(double weightDecay) {
        this(0.9, 0.999, 1e-8, weightDecay);
    }

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    @Override
    public void prepare(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        schedule[0] = (float) (1 - lr * weightDecay);
        schedule[1] = (float) (lr / bc1);
        schedule[2] = (float) bc2Sqrt;
    }

    @Override
    public void apply(Backend backend, List<Parameter> params) {
        Tensor scheduled = Tensor.of(schedule, 3);
        for (Parameter p : params) {
            // One step count for all parameters: moments appearing after step 1 would be bias-corrected wrongly.
            if (step > 1 && !expAvg.containsKey(p.name))
                throw new StatetuneException("optimizer state: no moments for " + p.name + " (saved for other parameters?)");
            Tensor m = Tensor.of(expAvg.computeIfAbsent(p.name, k -> new float[p.value.length]), p.shape);
            Tensor v = Tensor.of(expAvgSq.computeIfAbsent(p.name, k -> new float[p.value.length]), p.shape);
            backend.keepResident(m);
            backend.keepResident(v);
            backend.adamwStep(p.valueTensor(), p.gradTensor(), m, v, new Backend.AdamWStep(p.weightDecay && weightDecay != 0,
                    (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps, scheduled));
        }
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : expAvg.keySet().stream().sorted().toList()) {
            out.put(name + ".exp_avg", Tensor.of(expAvg.get(name).clone(), expAvg.get(name).length));
            out.put(name + ".exp_avg_sq", Tensor.of(expAvgSq.get(name).clone(), expAvgSq.get(name).length));
        }
        out.put(OptimizerState.STEP, OptimizerState.step(step));
        return out;
    }

    @Override
    public void load(Map<String, Tensor> state) {
        Map<String, float[]> m = new HashMap<>(), v = new HashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            if (key.endsWith(".exp_avg_sq")) v.put(key.substring(0, key.length() - 11), e.getValue().toFloatArray());
            else if (key.endsWith(".exp_avg")) m.put(key.substring(0, key.length() - 8), e.getValue().toFloatArray());
            else if (!key.equals(OptimizerState.STEP))
                throw new StatetuneException("optimizer state: unexpected entry \"" + key + "\" for AdamW");
        }
        if (!m.keySet().equals(v.keySet()))
            throw new StatetuneException("optimizer state: exp_avg and exp_avg_sq name different parameters");
        for (String name : m.keySet())
            if (m.get(name).length != v.get(name).length)
                throw new StatetuneException("optimizer state: " + name + " has moments of different sizes");
        long loadedStep = OptimizerState.step(state);
        if (loadedStep > 0 && m.isEmpty())
            throw new StatetuneException("optimizer state: step " + loadedStep + " but no AdamW moments (saved by another optimizer?)");
        expAvg.clear();
        expAvgSq.clear();
        expAvg.putAll(m);
        expAvgSq.putAll(v);
        step = loadedStep;
    }

    @Override
    public String toString() {
        return "AdamW(betas=" + Arrays.toString(new double[] {beta1, beta2}) + ", eps=" + eps + ", weight_decay=" + weightDecay + ")";
    }
}
