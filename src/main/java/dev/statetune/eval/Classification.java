package dev.statetune.eval;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The GLUE classification and regression metrics, with the semantics of scikit-learn's
 * accuracy_score, f1_score (binary, pos_label=1), matthews_corrcoef and SciPy's pearsonr / spearmanr.
 * Arguments come in sklearn's order, (gold, predicted); all five metrics are symmetric in them anyway.
 */
public final class Classification {
    private Classification() {}

    public static double accuracy(int[] gold, int[] predicted) {
        checkLengths(gold.length, predicted.length);
        int correct = 0;
        for (int i = 0; i < gold.length; i++) if (predicted[i] == gold[i]) correct++;
        return (double) correct / gold.length;
    }

    /** F1 of class 1; 0 when class 1 is neither predicted nor present (sklearn's zero_division). */
    public static double f1(int[] gold, int[] predicted) {
        checkLengths(gold.length, predicted.length);
        long tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < gold.length; i++) {
            boolean p = predicted[i] == 1, g = gold[i] == 1;
            if (p && g) tp++;
            else if (p) fp++;
            else if (g) fn++;
        }
        long denominator = 2 * tp + fp + fn;
        return denominator == 0 ? 0 : 2.0 * tp / denominator;
    }

    /**
     * Matthews correlation in sklearn's multiclass form, (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)),
     * which is the binary formula for two labels; 0 when either side holds a single label.
     */
    public static double matthews(int[] gold, int[] predicted) {
        checkLengths(gold.length, predicted.length);
        Map<Integer, long[]> counts = new HashMap<>(); // label -> {times predicted, times gold}
        long correct = 0;
        for (int i = 0; i < gold.length; i++) {
            counts.computeIfAbsent(predicted[i], k -> new long[2])[0]++;
            counts.computeIfAbsent(gold[i], k -> new long[2])[1]++;
            if (predicted[i] == gold[i]) correct++;
        }
        double s = gold.length, pt = 0, pp = 0, tt = 0;
        for (long[] c : counts.values()) {
            pt += (double) c[0] * c[1];
            pp += (double) c[0] * c[0];
            tt += (double) c[1] * c[1];
        }
        double denominator = (s * s - pp) * (s * s - tt);
        return denominator == 0 ? 0 : (correct * s - pt) / Math.sqrt(denominator);
    }

    /** Pearson's r; NaN when either side is constant (SciPy warns and returns nan). */
    public static double pearson(double[] x, double[] y) {
        checkLengths(x.length, y.length);
        if (x.length < 2) throw new IllegalArgumentException("correlation needs at least 2 values");
        double mx = mean(x), my = mean(y), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return Double.NaN;
        // Rounding can push |r| a hair past 1 for perfectly correlated inputs; SciPy clips too.
        return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
    }

    /** Spearman's rho: Pearson's r of the ranks, tied values sharing their average rank. */
    public static double spearman(double[] x, double[] y) {
        checkLengths(x.length, y.length);
        return pearson(averageRanks(x), averageRanks(y));
    }

    /** Ranks from 1, ties given the mean of the ranks they span (scipy.stats.rankdata's 'average'). */
    static double[] averageRanks(double[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(values[a], values[b]));
        double[] ranks = new double[values.length];
        for (int start = 0; start < order.length; ) {
            int end = start + 1;
            while (end < order.length && values[order[end]] == values[order[start]]) end++;
            double rank = (start + 1 + end) / 2.0; // mean of the 1-based ranks start+1 .. end
            for (int k = start; k < end; k++) ranks[order[k]] = rank;
            start = end;
        }
        return ranks;
    }

    private static double mean(double[] v) {
        double sum = 0;
        for (double x : v) sum += x;
        return sum / v.length;
    }

    private static void checkLengths(int gold, int predicted) {
        if (predicted != gold) throw new IllegalArgumentException("lengths differ: " + gold + " gold vs " + predicted + " predicted");
        if (gold == 0) throw new IllegalArgumentException("no examples");
    }
}
