package dev.statetune.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** ROUGE on hand-worked pairs, Lin (2004)'s summary-level example, identities and empty inputs. */
class RougeTest {
    private static final double EPS = 1e-12;
    private final Rouge plain = new Rouge(false);
    private final Rouge stemmed = new Rouge(true);

    private static void assertScore(double p, double r, double f, Rouge.Score actual, String what) {
        assertEquals(p, actual.precision(), EPS, what + " precision");
        assertEquals(r, actual.recall(), EPS, what + " recall");
        assertEquals(f, actual.fmeasure(), EPS, what + " F");
    }

    @Test
    void tokenizerLowercasesAndSplitsOnEverythingButAsciiAlphanumerics() {
        RougeTokenizer t = new RougeTokenizer(false);
        assertEquals(List.of("hello", "world", "it", "s", "2024"), t.tokenize("Hello, World! It's 2024."));
        // é and ï are not [a-z0-9] after lowercasing, so they separate tokens.
        assertEquals(List.of("caf", "na", "ve"), t.tokenize("Café naïve"));
        assertEquals(List.of("a", "b"), t.tokenize("\r\n a\t\tb \n"));
        assertEquals(List.of(), t.tokenize(" ,.; "));
    }

    @Test
    void stemmerOnlyTouchesTokensLongerThanThree() {
        // 'was' would stem to 'wa' but has three letters; 'were' stays by step 5a (m = 1, *o).
        assertEquals(List.of("the", "runner", "were", "run", "quickli", "was", "dog"),
                new RougeTokenizer(true).tokenize("The runners were RUNNING quickly; was dogs"));
    }

    @Test
    void ngramsAndLcsByHand() {
        // target: the cat sat on the mat (6 tokens); prediction: the cat on the mat (5).
        // Unigrams: the 2 + cat + on + mat = 5 shared: P 5/5, R 5/6, F 10/11.
        // Bigrams: target {the-cat cat-sat sat-on on-the the-mat}, prediction {the-cat cat-on on-the the-mat}:
        // 3 shared, P 3/4, R 3/5, F 2/3. LCS "the cat on the mat" = 5: as unigrams.
        Rouge.Scores s = plain.score("the cat sat on the mat", "the cat on the mat");
        assertScore(1, 5.0 / 6, 10.0 / 11, s.rouge1(), "rouge1");
        assertScore(0.75, 0.6, 2.0 / 3, s.rouge2(), "rouge2");
        assertScore(1, 5.0 / 6, 10.0 / 11, s.rougeL(), "rougeL");
        assertScore(1, 5.0 / 6, 10.0 / 11, s.rougeLsum(), "rougeLsum");
    }

    @Test
    void ngramCountsAreClipped() {
        // prediction "the the the" against "the cat": one 'the' is matched: P 1/3, R 1/2, F 2/5.
        assertScore(1.0 / 3, 0.5, 0.4, plain.score("the cat", "the the the").rouge1(), "rouge1");
    }

    @Test
    void stemmingMakesInflectionsMatch() {
        assertScore(0, 0, 0, plain.score("dogs running", "dog runs").rouge1(), "plain");
        assertScore(1, 1, 1, stemmed.score("dogs running", "dog runs").rouge1(), "stemmed");
    }

    @Test
    void linSummaryLevelExample() {
        // Lin (2004) §3.2: r = w1 w2 w3 w4 w5; c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5.
        // LCS(r, c1) = w1 w2, LCS(r, c2) = w1 w3 w5; union w1 w2 w3 w5 = 4 hits: R 4/5, P 4/10, F 8/15.
        Rouge.Score s = plain.score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5").rougeLsum();
        assertScore(0.4, 0.8, 8.0 / 15, s, "rougeLsum");
        assertEquals(List.of(0, 2, 4), Rouge.lcsPositions(
                List.of("w1", "w2", "w3", "w4", "w5"), List.of("w1", "w3", "w8", "w9", "w5")));
    }

    @Test
    void summaryLevelTakesTheLcsRougeScoreBacktracksTo() {
        // LCS([a b], [b a]) is 'a' or 'b'; walking back, rouge_score steps left only when strictly better,
        // so it keeps 'a' (position 0). With candidate [a] also giving position 0 the union is {0}: 1 hit.
        // R 1/2, P 1/3, F 2·(1/6) / (5/6) = 0.4. (Choosing 'b' would make the union {0, 1}: 2 hits.)
        assertEquals(List.of(0), Rouge.lcsPositions(List.of("a", "b"), List.of("b", "a")));
        assertScore(1.0 / 3, 0.5, 0.4, plain.score("a b", "b a\na").rougeLsum(), "rougeLsum");
    }

    @Test
    void summaryLevelIgnoresSentenceOrderButRougeLDoesNot() {
        // Flat: [a b c d] vs [c d a b], LCS 2 of 4. Per sentence: each reference sentence meets its twin.
        Rouge.Scores s = plain.score("a b\nc d", "c d\na b");
        assertScore(0.5, 0.5, 0.5, s.rougeL(), "rougeL");
        assertScore(1, 1, 1, s.rougeLsum(), "rougeLsum");
    }

    @Test
    void summaryLevelSpendsEachTokenOnce() {
        // Reference sentences [a b], [a c]; candidate [a]. Both unions hold an 'a', but the candidate has
        // one: 1 hit. R 1/4, P 1/1, F 2·¼ / (5/4) = 0.4 (without the guard P would be 2).
        assertScore(1, 0.25, 0.4, plain.score("a b\na c", "a").rougeLsum(), "rougeLsum");
    }

    @Test
    void emptyLinesAreNotSentences() {
        Rouge.Scores s = plain.score("a b\n\n\nc d\n", "a b c d");
        assertEquals(1, s.rougeL().fmeasure(), EPS);
        // Reference sentences [a b], [c d] both fully inside the single candidate sentence.
        assertScore(1, 1, 1, s.rougeLsum(), "rougeLsum");
    }

    @Test
    void identityIsOneAndNoOverlapIsZero() {
        String text = "Amanda baked cookies.\nShe will bring Jerry some tomorrow.";
        for (Rouge rouge : List.of(plain, stemmed)) {
            Rouge.Scores same = rouge.score(text, text);
            for (Rouge.Score s : List.of(same.rouge1(), same.rouge2(), same.rougeL(), same.rougeLsum())) {
                assertScore(1, 1, 1, s, "identity");
            }
            Rouge.Scores none = rouge.score(text, "xyz qqq");
            for (Rouge.Score s : List.of(none.rouge1(), none.rouge2(), none.rougeL(), none.rougeLsum())) {
                assertScore(0, 0, 0, s, "disjoint");
            }
        }
    }

    @Test
    void emptyPredictionOrReferenceScoresZero() {
        for (String[] pair : new String[][] {{"a b c", ""}, {"", "a b c"}, {"", ""}, {"a b", " ?! "}, {"a b", "\n\n"}}) {
            Rouge.Scores s = plain.score(pair[0], pair[1]);
            for (Rouge.Score score : List.of(s.rouge1(), s.rouge2(), s.rougeL(), s.rougeLsum())) {
                assertScore(0, 0, 0, score, "'" + pair[0] + "' vs '" + pair[1] + "'");
            }
        }
    }

    @Test
    void corpusIsMeanFTimesHundred() {
        // Pair 1 identical (F 1 everywhere); pair 2 is the hand-worked pair above (rouge1 10/11, rouge2 2/3).
        Rouge.Corpus c = plain.corpus(List.of("a b c", "the cat sat on the mat"), List.of("a b c", "the cat on the mat"));
        assertEquals(2, c.examples());
        assertEquals(100 * (1 + 10.0 / 11) / 2, c.rouge1(), 1e-9);
        assertEquals(100 * (1 + 2.0 / 3) / 2, c.rouge2(), 1e-9);
        assertEquals(100 * (1 + 10.0 / 11) / 2, c.rougeL(), 1e-9);
        assertEquals(100 * (1 + 10.0 / 11) / 2, c.rougeLsum(), 1e-9);
    }
}
