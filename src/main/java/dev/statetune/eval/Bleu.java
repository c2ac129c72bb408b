package dev.statetune.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Corpus BLEU with the defaults of {@code sacrebleu.corpus_bleu(hypotheses, [refs1, refs2, ...])}:
 * 13a tokens, case kept, n-grams up to 4 clipped by the largest count in any one reference, the
 * brevity penalty against each sentence's closest reference length (ties to the shorter), 'exp' smoothing.
 */
public final class Bleu {
    static final int MAX_ORDER = 4;

    private Bleu() {}

    /**
     * A corpus score as sacrebleu reports it: the score and the n-gram precisions ×100, the brevity
     * penalty, and the summed statistics they came from.
     */
    public record Result(double score, double[] precisions, double brevityPenalty,
                         long hypothesisLength, long referenceLength, long[] correct, long[] total) {
        /** sacrebleu's line, e.g. {@code BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)}. */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
                    score, precisions[0], precisions[1], precisions[2], precisions[3], brevityPenalty,
                    (double) hypothesisLength / referenceLength, hypothesisLength, referenceLength);
        }
    }

    /**
     * @param hypotheses one line per segment
     * @param referenceStreams one or more reference streams, each as long as {@code hypotheses};
     *     a null or empty reference means that segment has fewer references
     */
    public static Result corpus(List<String> hypotheses, List<List<String>> referenceStreams) {
        if (referenceStreams.isEmpty()) throw new IllegalArgumentException("no reference streams");
        for (List<String> stream : referenceStreams) {
            if (stream.size() != hypotheses.size()) {
                throw new IllegalArgumentException("a reference stream has " + stream.size()
                        + " lines for " + hypotheses.size() + " hypotheses");
            }
        }
        long[] correct = new long[MAX_ORDER], total = new long[MAX_ORDER];
        long hypothesisLength = 0, referenceLength = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            String[] hyp = tokens(hypotheses.get(i));
            List<Map<String, Integer>> maxReferenceCounts = new ArrayList<>();
            for (int n = 1; n <= MAX_ORDER; n++) maxReferenceCounts.add(new HashMap<>());
            int closest = -1;
            for (List<String> stream : referenceStreams) {
                String ref = stream.get(i);
                if (ref == null || ref.isEmpty()) continue;
                String[] refTokens = tokens(ref);
                closest = closer(hyp.length, closest, refTokens.length);
                for (int n = 1; n <= MAX_ORDER; n++) {
                    Map<String, Integer> max = maxReferenceCounts.get(n - 1);
                    ngrams(refTokens, n).forEach((ngram, count) -> max.merge(ngram, count, Math::max));
                }
            }
            if (closest < 0) throw new IllegalArgumentException("segment " + i + " has no reference");
            hypothesisLength += hyp.length;
            referenceLength += closest;
            for (int n = 1; n <= MAX_ORDER; n++) {
                Map<String, Integer> reference = maxReferenceCounts.get(n - 1);
                for (var e : ngrams(hyp, n).entrySet()) {
                    correct[n - 1] += Math.min(e.getValue(), reference.getOrDefault(e.getKey(), 0));
                }
                total[n - 1] += Math.max(0, hyp.length - n + 1);
            }
        }
        return score(correct, total, hypothesisLength, referenceLength);
    }

    /** sacrebleu's {@code compute_bleu} with smooth_method='exp'. */
    static Result score(long[] correct, long[] total, long hypothesisLength, long referenceLength) {
        double bp = hypothesisLength >= referenceLength ? 1
                : hypothesisLength > 0 ? Math.exp(1 - (double) referenceLength / hypothesisLength) : 0;
        double[] precisions = new double[MAX_ORDER];
        boolean anyCorrect = false;
        for (long c : correct) anyCorrect |= c > 0;
        if (!anyCorrect) return new Result(0, precisions, bp, hypothesisLength, referenceLength, correct, total);
        // An order with no correct n-gram counts as 1/2^k of one, k counting such orders so far.
        double smooth = 1;
        for (int n = 0; n < MAX_ORDER; n++) {
            if (total[n] == 0) break; // hypotheses too short for this order: its precision stays 0
            if (correct[n] == 0) {
                smooth *= 2;
                precisions[n] = 100 / (smooth * total[n]);
            } else {
                precisions[n] = 100.0 * correct[n] / total[n];
            }
        }
        double logSum = 0;
        for (double p : precisions) {
            // sacrebleu takes log(0) as -9999999999, which drives the score to exactly 0.
            if (p == 0) return new Result(0, precisions, bp, hypothesisLength, referenceLength, correct, total);
            logSum += Math.log(p);
        }
        return new Result(bp * Math.exp(logSum / MAX_ORDER), precisions, bp, hypothesisLength, referenceLength, correct, total);
    }

    /** The reference length closer to the hypothesis length; of two equally close, the shorter. */
    static int closer(int hypothesisLength, int best, int candidate) {
        if (best < 0) return candidate;
        int dBest = Math.abs(hypothesisLength - best), dCandidate = Math.abs(hypothesisLength - candidate);
        return dCandidate < dBest || (dCandidate == dBest && candidate < best) ? candidate : best;
    }

    /** sacrebleu tokenizes each segment after {@code rstrip()}. */
    private static String[] tokens(String segment) {
        String tokenized = Tokenizer13a.tokenize(PythonText.rstrip(segment));
        return tokenized.isEmpty() ? new String[0] : tokenized.split(" ");
    }

    /** n-grams keyed by their tokens joined with spaces, which 13a tokens never contain. */
    private static Map<String, Integer> ngrams(String[] tokens, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= tokens.length; i++) {
            counts.merge(String.join(" ", Arrays.asList(tokens).subList(i, i + n)), 1, Integer::sum);
        }
        return counts;
    }
}
