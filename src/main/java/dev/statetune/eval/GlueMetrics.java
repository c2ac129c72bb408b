package dev.statetune.eval;

import dev.statetune.data.tasks.GlueTask;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The paper's GLUE metric set from teacher-forced predictions (PAPER_NOTES "Data formats"): CoLA
 * Matthews correlation; MRPC and QQP accuracy and F1; STS-B Pearson and Spearman; the others
 * accuracy. A prediction that is no class token (−1) is dropped by the paper's code: its scores
 * here ("accuracy", ...) leave those examples out, the strict ones ("accuracy_strict", ...) count
 * them wrong by putting a wrong class in their place. All scores are percentages (NaN where no
 * prediction is left to score).
 */
public final class GlueMetrics {
    public static final int OUT_OF_CLASS = -1;

    private GlueMetrics() {}

    /**
     * @param gold       (n) class ids
     * @param goldScores (n) STS-B similarities (for the other tasks unused, may be null)
     * @param predicted  (n) class ids, or {@link #OUT_OF_CLASS}
     */
    public static Map<String, Double> compute(GlueTask task, int[] gold, double[] goldScores, int[] predicted) {
        int n = gold.length, kept = 0;
        for (int p : predicted) if (p != OUT_OF_CLASS) kept++;
        int[] keptGold = new int[kept], keptPredicted = new int[kept], strict = new int[n];
        double[] keptScores = new double[kept], keptPredictedScores = new double[kept];
        int classes = task.labelNames().size();
        for (int i = 0, j = 0; i < n; i++) {
            strict[i] = predicted[i] == OUT_OF_CLASS ? (gold[i] + 1) % classes : predicted[i];
            if (predicted[i] == OUT_OF_CLASS) continue;
            keptGold[j] = gold[i];
            keptPredicted[j] = predicted[i];
            if (goldScores != null) keptScores[j] = goldScores[i];
            keptPredictedScores[j++] = predicted[i];
        }
        Map<String, Double> m = new LinkedHashMap<>();
        if (task == GlueTask.STSB) {
            m.put("pearson", kept < 2 ? Double.NaN : 100 * Classification.pearson(keptPredictedScores, keptScores));
            m.put("spearman", kept < 2 ? Double.NaN : 100 * Classification.spearman(keptPredictedScores, keptScores));
        } else if (task == GlueTask.COLA) {
            m.put("matthews", 100 * Classification.matthews(keptGold, keptPredicted));
            m.put("matthews_strict", 100 * Classification.matthews(gold, strict));
        } else {
            m.put("accuracy", kept == 0 ? Double.NaN : 100 * Classification.accuracy(keptGold, keptPredicted));
            m.put("accuracy_strict", 100 * Classification.accuracy(gold, strict));
            if (task == GlueTask.MRPC || task == GlueTask.QQP) {
                m.put("f1", 100 * Classification.f1(keptGold, keptPredicted));
                m.put("f1_strict", 100 * Classification.f1(gold, strict));
            }
        }
        m.put("out_of_class", (double) (n - kept));
        m.put("examples", (double) n);
        return m;
    }
}
