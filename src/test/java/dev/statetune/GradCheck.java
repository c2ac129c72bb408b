package dev.statetune;

import dev.statetune.model.MambaLM;

/** Central differences of the model's mean loss with respect to one trainable value. */
public final class GradCheck {
    private GradCheck() {}

    /** (L(v + eps) − L(v − eps)) / 2eps for values[i], restored afterwards. */
    public static double centralDifference(MambaLM lm, float[] values, int i, float eps, int[][] ids, int[][] labels) {
        float keep = values[i];
        values[i] = keep + eps;
        double plus = lm.loss(ids, labels, false).meanLoss();
        values[i] = keep - eps;
        double minus = lm.loss(ids, labels, false).meanLoss();
        values[i] = keep;
        return (plus - minus) / (2 * eps);
    }
}
