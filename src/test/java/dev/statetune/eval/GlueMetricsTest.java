package dev.statetune.eval;

import dev.statetune.data.tasks.GlueTask;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.statetune.eval.GlueMetrics.OUT_OF_CLASS;
import static org.junit.jupiter.api.Assertions.*;

/** The paper's score (out-of-class predictions dropped) and the strict one (counted wrong), by hand. */
class GlueMetricsTest {
    @Test
    void accuracyDropsOrCountsOutOfClassPredictions() {
        Map<String, Double> m = GlueMetrics.compute(GlueTask.RTE, new int[] {0, 1, 0, 1}, null, new int[] {0, OUT_OF_CLASS, 1, 1});
        assertEquals(200.0 / 3, m.get("accuracy"), 1e-9);        // 2 of the 3 scored
        assertEquals(50.0, m.get("accuracy_strict"), 1e-9);      // 2 of 4
        assertEquals(1.0, m.get("out_of_class"));
        assertEquals(4.0, m.get("examples"));
        assertFalse(m.containsKey("f1"));
    }

    @Test
    void mrpcF1CountsAnOutOfClassPredictionAsTheWrongClass() {
        // gold 1,1,0,1 predicted 1,-1,1,0. Paper: kept (1,1),(0,1),(1,0): tp 1, fp 1, fn 1 → F1 = 2/4.
        // Strict: the -1 on a gold 1 becomes 0, one more fn: tp 1, fp 1, fn 2 → F1 = 2/5.
        Map<String, Double> m = GlueMetrics.compute(GlueTask.MRPC, new int[] {1, 1, 0, 1}, null, new int[] {1, OUT_OF_CLASS, 1, 0});
        assertEquals(50.0, m.get("f1"), 1e-9);
        assertEquals(40.0, m.get("f1_strict"), 1e-9);
        assertEquals(100.0 / 3, m.get("accuracy"), 1e-9);
        assertEquals(25.0, m.get("accuracy_strict"), 1e-9);
    }

    @Test
    void colaReportsMatthewsAndMnliAWrongThirdClass() {
        Map<String, Double> cola = GlueMetrics.compute(GlueTask.COLA, new int[] {0, 0, 1, 1}, null, new int[] {0, 0, 1, 1});
        assertEquals(100.0, cola.get("matthews"), 1e-9);
        assertEquals(100.0, cola.get("matthews_strict"), 1e-9);
        Map<String, Double> mnli = GlueMetrics.compute(GlueTask.MNLI, new int[] {2, 2}, null, new int[] {OUT_OF_CLASS, 2});
        assertEquals(100.0, mnli.get("accuracy"), 1e-9);
        assertEquals(50.0, mnli.get("accuracy_strict"), 1e-9);
    }

    @Test
    void stsbCorrelatesPredictedDigitsWithGoldScores() {
        double[] gold = {0.4, 1.8, 3.1, 4.9, 2.0};
        Map<String, Double> m = GlueMetrics.compute(GlueTask.STSB, new int[] {0, 2, 3, 5, 2}, gold, new int[] {0, 2, 3, 5, OUT_OF_CLASS});
        assertEquals(100 * Classification.pearson(new double[] {0, 2, 3, 5}, new double[] {0.4, 1.8, 3.1, 4.9}), m.get("pearson"), 1e-9);
        assertEquals(100.0, m.get("spearman"), 1e-9);   // the kept four are in the same order
        assertEquals(1.0, m.get("out_of_class"));
    }

    @Test
    void nothingLeftToScoreIsNotANumber() {
        Map<String, Double> m = GlueMetrics.compute(GlueTask.SST2, new int[] {1}, null, new int[] {OUT_OF_CLASS});
        assertTrue(m.get("accuracy").isNaN());
        assertEquals(0.0, m.get("accuracy_strict"));
    }
}
