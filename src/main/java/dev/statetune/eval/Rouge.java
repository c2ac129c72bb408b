package dev.statetune.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as Google's rouge_score computes them
 * ({@code rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=...)}):
 * clipped n-gram overlap, LCS, and for Lsum Lin (2004) §3.2's summary-level union LCS over
 * newline-separated sentences, with rouge_score's guard against counting a token twice.
 */
public final class Rouge {
    /** One ROUGE variant of one pair, each value in [0, 1]. */
    public record Score(double precision, double recall, double fmeasure) {
        static final Score ZERO = new Score(0, 0, 0);

        static Score of(double precision, double recall) {
            double sum = precision + recall;
            return new Score(precision, recall, sum > 0 ? 2 * precision * recall / sum : 0);
        }
    }

    public record Scores(Score rouge1, Score rouge2, Score rougeL, Score rougeLsum) {}

    /**
     * Corpus figures as papers report them: the mean over examples of each F-measure, times 100.
     * rouge_score's BootstrapAggregator (and HF evaluate on top of it) reports a resampled estimate of
     * this same mean, so its 'mid' can differ in the last digits.
     */
    public record Corpus(double rouge1, double rouge2, double rougeL, double rougeLsum, int examples) {}

    private final RougeTokenizer tokenizer;

    public Rouge(boolean useStemmer) {
        this.tokenizer = new RougeTokenizer(useStemmer);
    }

    /** Scores a prediction against its reference (rouge_score's {@code score(target, prediction)}). */
    public Scores score(String target, String prediction) {
        List<String> t = tokenizer.tokenize(target), p = tokenizer.tokenize(prediction);
        return new Scores(ngrams(t, p, 1), ngrams(t, p, 2), lcs(t, p),
                summaryLcs(sentences(target), sentences(prediction)));
    }

    public Corpus corpus(List<String> targets, List<String> predictions) {
        if (targets.size() != predictions.size()) {
            throw new IllegalArgumentException("targets " + targets.size() + " vs predictions " + predictions.size());
        }
        if (targets.isEmpty()) throw new IllegalArgumentException("no examples");
        double r1 = 0, r2 = 0, rl = 0, rlsum = 0;
        for (int i = 0; i < targets.size(); i++) {
            Scores s = score(targets.get(i), predictions.get(i));
            r1 += s.rouge1.fmeasure;
            r2 += s.rouge2.fmeasure;
            rl += s.rougeL.fmeasure;
            rlsum += s.rougeLsum.fmeasure;
        }
        double scale = 100.0 / targets.size();
        return new Corpus(r1 * scale, r2 * scale, rl * scale, rlsum * scale, targets.size());
    }

    /** rougeLsum's sentences: split on '\n', empty strings dropped (a sentence may still have no tokens). */
    private List<List<String>> sentences(String text) {
        List<List<String>> sentences = new ArrayList<>();
        for (String line : text.split("\n", -1)) if (!line.isEmpty()) sentences.add(tokenizer.tokenize(line));
        return sentences;
    }

    /** Clipped n-gram overlap; precision and recall divide by at least 1, so no n-grams scores 0. */
    static Score ngrams(List<String> target, List<String> prediction, int n) {
        Map<String, Integer> t = countNgrams(target, n), p = countNgrams(prediction, n);
        long overlap = 0, targetTotal = 0, predictionTotal = 0;
        for (var e : t.entrySet()) {
            overlap += Math.min(e.getValue(), p.getOrDefault(e.getKey(), 0));
            targetTotal += e.getValue();
        }
        for (int c : p.values()) predictionTotal += c;
        return Score.of((double) overlap / Math.max(predictionTotal, 1), (double) overlap / Math.max(targetTotal, 1));
    }

    /** Keyed by the tokens joined with spaces, which [a-z0-9] tokens never contain. */
    private static Map<String, Integer> countNgrams(List<String> tokens, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) counts.merge(String.join(" ", tokens.subList(i, i + n)), 1, Integer::sum);
        return counts;
    }

    static Score lcs(List<String> target, List<String> prediction) {
        if (target.isEmpty() || prediction.isEmpty()) return Score.ZERO;
        int length = lcsTable(target, prediction)[target.size()][prediction.size()];
        return Score.of((double) length / prediction.size(), (double) length / target.size());
    }

    /**
     * Lin (2004) §3.2: for each reference sentence, the union of its LCS token positions with every
     * candidate sentence; a hit spends one occurrence of the token on each side, as rouge_score does.
     */
    static Score summaryLcs(List<List<String>> reference, List<List<String>> candidate) {
        if (reference.isEmpty() || candidate.isEmpty()) return Score.ZERO;
        int m = 0, n = 0;
        Map<String, Integer> referenceLeft = new HashMap<>(), candidateLeft = new HashMap<>();
        for (List<String> s : reference) {
            m += s.size();
            for (String token : s) referenceLeft.merge(token, 1, Integer::sum);
        }
        for (List<String> s : candidate) {
            n += s.size();
            for (String token : s) candidateLeft.merge(token, 1, Integer::sum);
        }
        if (m == 0 || n == 0) return Score.ZERO;
        int hits = 0;
        for (List<String> r : reference) {
            TreeSet<Integer> union = new TreeSet<>();
            for (List<String> c : candidate) union.addAll(lcsPositions(r, c));
            for (int i : union) {
                String token = r.get(i);
                if (candidateLeft.getOrDefault(token, 0) > 0 && referenceLeft.getOrDefault(token, 0) > 0) {
                    hits++;
                    candidateLeft.merge(token, -1, Integer::sum);
                    referenceLeft.merge(token, -1, Integer::sum);
                }
            }
        }
        return Score.of((double) hits / n, (double) hits / m);
    }

    /**
     * Positions in {@code ref} of one LCS with {@code can}. Which LCS matters for the union, so this walks
     * back as rouge_score's {@code _backtrack_norec}: take a match, else step left only when strictly better.
     */
    static List<Integer> lcsPositions(List<String> ref, List<String> can) {
        int[][] table = lcsTable(ref, can);
        List<Integer> positions = new ArrayList<>();
        int i = ref.size(), j = can.size();
        while (i > 0 && j > 0) {
            if (ref.get(i - 1).equals(can.get(j - 1))) {
                positions.add(i - 1);
                i--;
                j--;
            } else if (table[i][j - 1] > table[i - 1][j]) {
                j--;
            } else {
                i--;
            }
        }
        return positions.reversed();
    }

    private static int[][] lcsTable(List<String> ref, List<String> can) {
        int[][] table = new int[ref.size() + 1][can.size() + 1];
        for (int i = 1; i <= ref.size(); i++) {
            for (int j = 1; j <= can.size(); j++) {
                table[i][j] = ref.get(i - 1).equals(can.get(j - 1))
                        ? table[i - 1][j - 1] + 1
                        : Math.max(table[i - 1][j], table[i][j - 1]);
            }
        }
        return table;
    }
}
