package dev.statetune.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Corpus BLEU on hand-counted cases and sacrebleu's README example; expected values derived in comments. */
class BleuTest {
    private static final double EPS = 1e-9;

    private static Bleu.Result bleu(List<String> hyps, List<String> refs) {
        return Bleu.corpus(hyps, List.of(refs));
    }

    @Test
    void sacrebleuReadmeExample() {
        // sacrebleu's README: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18).
        // By hand: closest reference lengths 6, 5, 7; matches 14/17, 7/14, 5/11, 3/8.
        List<String> sys = List.of("The dog bit the man.", "It wasn't surprising.", "The man had just bitten him.");
        List<String> refs1 = List.of("The dog bit the man.", "It was not unexpected.", "The man bit him first.");
        List<String> refs2 = List.of("The dog had bit the man.", "No one was surprised.", "The man had bitten the dog.");
        Bleu.Result r = Bleu.corpus(sys, List.of(refs1, refs2));
        assertArrayEquals(new long[] {14, 7, 5, 3}, r.correct());
        assertArrayEquals(new long[] {17, 14, 11, 8}, r.total());
        assertEquals(17, r.hypothesisLength());
        assertEquals(18, r.referenceLength());
        assertEquals(Math.exp(1 - 18.0 / 17), r.brevityPenalty(), EPS);
        assertArrayEquals(new double[] {1400.0 / 17, 50, 500.0 / 11, 37.5}, r.precisions(), EPS);
        assertEquals(100 * Math.exp(1 - 18.0 / 17) * Math.pow(14.0 / 17 * 7 / 14 * 5 / 11 * 3 / 8, 0.25), r.score(), EPS);
        assertEquals(48.53, r.score(), 0.005);
        assertEquals("BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)", r.toString());
    }

    @Test
    void singlePairByHand() {
        // hyp "the cat sat on the mat", ref "the cat sat on a mat": 1-grams 5/6 ('the' clipped to 1),
        // 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; equal lengths, BP 1; BLEU = 100·(1/12)^¼.
        Bleu.Result r = bleu(List.of("the cat sat on the mat"), List.of("the cat sat on a mat"));
        assertArrayEquals(new double[] {500.0 / 6, 60, 50, 100.0 / 3}, r.precisions(), EPS);
        assertEquals(1, r.brevityPenalty(), EPS);
        assertEquals(100 * Math.pow(1.0 / 12, 0.25), r.score(), EPS);
    }

    @Test
    void expSmoothingHalvesEachEmptyOrder() {
        // hyp "a b c d e", ref "a b x d e": 4/5, 2/4, then 0/3 → 100/(2·3), 0/2 → 100/(4·2).
        Bleu.Result r = bleu(List.of("a b c d e"), List.of("a b x d e"));
        assertArrayEquals(new double[] {80, 50, 100.0 / 6, 12.5}, r.precisions(), EPS);
        assertEquals(Math.pow(80 * 50 * (100.0 / 6) * 12.5, 0.25), r.score(), EPS);
    }

    @Test
    void multipleReferencesClipByTheLargestCountInOne() {
        // hyp "the the the the"; refs "the cat" (1 'the') and "the the dog" (2, one 'the the').
        // 1-grams 2/4, 2-grams 1/3, 3-grams 0/2 → 100/(2·2), 4-grams 0/1 → 100/(4·1); closest length 3 < 4: BP 1.
        Bleu.Result r = Bleu.corpus(List.of("the the the the"), List.of(List.of("the cat"), List.of("the the dog")));
        assertArrayEquals(new double[] {50, 100.0 / 3, 25, 25}, r.precisions(), EPS);
        assertEquals(3, r.referenceLength());
        assertEquals(Math.pow(50 * (100.0 / 3) * 25 * 25, 0.25), r.score(), EPS);
    }

    @Test
    void closestReferenceLengthTiesToTheShorter() {
        assertEquals(3, Bleu.closer(4, 5, 3));
        assertEquals(3, Bleu.closer(4, 3, 5));
        assertEquals(5, Bleu.closer(5, 3, 5));
        // hyp of 4 tokens, refs of 3 and 5: the shorter wins the tie, so no brevity penalty
        // (the longer would give exp(1 − 5/4)); every n-gram occurs in the second reference.
        Bleu.Result r = Bleu.corpus(List.of("a b c d"), List.of(List.of("a b c d e"), List.of("a b c")));
        assertEquals(3, r.referenceLength());
        assertEquals(100, r.score(), EPS);
        // refs of 5 and 6: 5 is closest, BP = exp(1 − 5/4).
        r = Bleu.corpus(List.of("a b c d"), List.of(List.of("a b c d e f"), List.of("a b c d e")));
        assertEquals(Math.exp(-0.25), r.brevityPenalty(), EPS);
        assertEquals(100 * Math.exp(-0.25), r.score(), EPS);
    }

    @Test
    void corpusSumsStatisticsBeforeScoring() {
        // "a b c d" = its ref; "e f" against "e f g h" (alone it has no 3- or 4-grams, so BLEU 0).
        // Summed: 6/6, 4/4, 2/2, 1/1; lengths 6 vs 8: BLEU = 100·exp(1 − 8/6).
        Bleu.Result r = bleu(List.of("a b c d", "e f"), List.of("a b c d", "e f g h"));
        assertEquals(100 * Math.exp(1 - 8.0 / 6), r.score(), EPS);
        assertEquals(0, bleu(List.of("e f"), List.of("e f g h")).score(), EPS);
    }

    @Test
    void aDuplicatedReferenceStreamChangesNothing() {
        List<String> hyps = List.of("The dog bit the man.", "It wasn't surprising.", "The man had just bitten him.");
        List<String> refs = List.of("The dog had bit the man.", "No one was surprised.", "The man had bitten the dog.");
        assertEquals(bleu(hyps, refs).toString(), Bleu.corpus(hyps, List.of(refs, refs)).toString());
    }

    @Test
    void identityIsHundredAndNoOverlapIsZero() {
        List<String> corpus = List.of("The dog bit the man.", "It was not unexpected, was it?", "Yes");
        assertEquals(100, bleu(corpus, corpus).score(), EPS);
        Bleu.Result none = bleu(List.of("a b c d"), List.of("e f g h"));
        assertEquals(0, none.score(), EPS);
        assertArrayEquals(new double[4], none.precisions(), EPS);
    }

    @Test
    void emptyHypothesisScoresZeroWithZeroBrevityPenalty() {
        Bleu.Result r = bleu(List.of(""), List.of("a b c d"));
        assertEquals(0, r.score(), EPS);
        assertEquals(0, r.brevityPenalty(), EPS);
        assertEquals(0, r.hypothesisLength());
    }

    @Test
    void emptyReferencesAreSkippedButOneIsNeeded() {
        // The empty second reference of segment 1 does not count for the closest length.
        Bleu.Result r = Bleu.corpus(List.of("a b c d"), List.of(List.of("a b c d"), Arrays.asList((String) null)));
        assertEquals(100, r.score(), EPS);
        r = Bleu.corpus(List.of("a b c d"), List.of(List.of("a b c d"), List.of("")));
        assertEquals(4, r.referenceLength());
        assertThrows(IllegalArgumentException.class, () -> bleu(List.of("a"), List.of("")));
        assertThrows(IllegalArgumentException.class, () -> bleu(List.of("a", "b"), List.of("a")));
    }
}
