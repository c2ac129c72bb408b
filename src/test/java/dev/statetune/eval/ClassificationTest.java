package dev.statetune.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Classification metrics on hand-worked cases and published examples; expected values derived in comments. */
class ClassificationTest {
    private static final double EPS = 1e-12;

    @Test
    void accuracyCountsAgreement() {
        assertEquals(0.75, Classification.accuracy(new int[] {1, 0, 2, 0}, new int[] {1, 0, 2, 1}), EPS);
        assertEquals(0, Classification.accuracy(new int[] {1}, new int[] {0}), EPS);
    }

    @Test
    void f1OfClassOne() {
        // gold 1 1 0 1 0, predicted 1 0 1 1 0: tp = 2 (0, 3), fp = 1 (2), fn = 1 (1); F1 = 2·2 / (4 + 1 + 1) = 2/3.
        assertEquals(2.0 / 3, Classification.f1(new int[] {1, 1, 0, 1, 0}, new int[] {1, 0, 1, 1, 0}), EPS);
        // gold 1 0 0 0, predicted all 1: tp = 1, fp = 3, fn = 0: 2 / (2 + 3) = 0.4; swapped, fp and fn trade places.
        assertEquals(0.4, Classification.f1(new int[] {1, 0, 0, 0}, new int[] {1, 1, 1, 1}), EPS);
        assertEquals(0.4, Classification.f1(new int[] {1, 1, 1, 1}, new int[] {1, 0, 0, 0}), EPS);
    }

    @Test
    void f1IsZeroWithoutPositives() {
        assertEquals(0, Classification.f1(new int[] {0, 0}, new int[] {0, 0}), EPS);
        assertEquals(0, Classification.f1(new int[] {1, 1}, new int[] {0, 0}), EPS);
    }

    @Test
    void matthewsSklearnDocExample() {
        // sklearn's matthews_corrcoef docstring: y_true [+1, +1, +1, -1], y_pred [+1, -1, +1, +1] -> -0.33...
        // tp = 2, fn = 1, fp = 1, tn = 0: (2·0 − 1·1) / √(3·3·1·1) = −1/3.
        assertEquals(-1.0 / 3, Classification.matthews(new int[] {1, 1, 1, -1}, new int[] {1, -1, 1, 1}), EPS);
    }

    @Test
    void matthewsBinaryByHand() {
        // gold 1 1 0 1 0, predicted 1 0 1 1 0: tp 2, tn 1, fp 1, fn 1: (2 − 1) / √(3·3·2·2) = 1/6.
        assertEquals(1.0 / 6, Classification.matthews(new int[] {1, 1, 0, 1, 0}, new int[] {1, 0, 1, 1, 0}), EPS);
        assertEquals(1, Classification.matthews(new int[] {0, 1, 1}, new int[] {0, 1, 1}), EPS);
        assertEquals(-1, Classification.matthews(new int[] {1, 0, 0}, new int[] {0, 1, 1}), EPS);
    }

    @Test
    void matthewsMulticlassByHand() {
        // gold 0 1 2, predicted 0 1 1: c = 2, s = 3, t = (1, 1, 1), p = (1, 2, 0);
        // (2·3 − 3) / √((9 − 5)(9 − 3)) = 3 / √24.
        assertEquals(3 / Math.sqrt(24), Classification.matthews(new int[] {0, 1, 2}, new int[] {0, 1, 1}), EPS);
    }

    @Test
    void matthewsIsZeroWhenOneSideIsConstant() {
        assertEquals(0, Classification.matthews(new int[] {1, 1, 1}, new int[] {0, 1, 0}), EPS);
        assertEquals(0, Classification.matthews(new int[] {0, 1, 0}, new int[] {1, 1, 1}), EPS);
        assertEquals(0, Classification.matthews(new int[] {0, 0}, new int[] {0, 0}), EPS);
    }

    @Test
    void pearsonByHand() {
        // deviations x: −2 −1 0 1 2, y: −2 0 1 0 1; Σxy = 6, Σx² = 10, Σy² = 6: r = 6/√60.
        assertEquals(6 / Math.sqrt(60), Classification.pearson(new double[] {1, 2, 3, 4, 5}, new double[] {2, 4, 5, 4, 5}), EPS);
        assertEquals(-1, Classification.pearson(new double[] {1, 2, 3}, new double[] {3, 2, 1}), EPS);
        assertTrue(Double.isNaN(Classification.pearson(new double[] {1, 2, 3}, new double[] {4, 4, 4})));
    }

    @Test
    void spearmanWikipediaExample() {
        // Wikipedia "Spearman's rank correlation coefficient": IQ against hours of TV per week, Σd² = 194,
        // ρ = 1 − 6·194 / (10·99) = −29/165 ≈ −0.1758.
        double[] iq = {106, 100, 86, 101, 99, 103, 97, 113, 112, 110};
        double[] tv = {7, 27, 2, 50, 28, 29, 20, 12, 6, 17};
        assertEquals(-29.0 / 165, Classification.spearman(iq, tv), EPS);
    }

    @Test
    void spearmanAveragesTiedRanks() {
        // y = 2 4 5 4 5 ranks to 1 2.5 4.5 2.5 4.5 (deviations −2 −.5 1.5 −.5 1.5, Σ² = 9);
        // x ranks 1..5 (deviations −2..2, Σ² = 10); Σ product = 4 + .5 + 0 − .5 + 3 = 7: ρ = 7/√90.
        assertArrayEquals(new double[] {1, 2.5, 4.5, 2.5, 4.5}, Classification.averageRanks(new double[] {2, 4, 5, 4, 5}), EPS);
        assertEquals(7 / Math.sqrt(90), Classification.spearman(new double[] {1, 2, 3, 4, 5}, new double[] {2, 4, 5, 4, 5}), EPS);
        // Monotone but not linear: Spearman 1, Pearson below 1.
        double[] x = {1, 2, 3, 4}, cubes = {1, 8, 27, 64};
        assertEquals(1, Classification.spearman(x, cubes), EPS);
        assertTrue(Classification.pearson(x, cubes) < 0.99);
    }

    @Test
    void rejectsMismatchedOrEmptyInput() {
        assertThrows(IllegalArgumentException.class, () -> Classification.accuracy(new int[] {1}, new int[] {1, 0}));
        assertThrows(IllegalArgumentException.class, () -> Classification.f1(new int[0], new int[0]));
        assertThrows(IllegalArgumentException.class, () -> Classification.pearson(new double[] {1}, new double[] {2}));
    }
}
