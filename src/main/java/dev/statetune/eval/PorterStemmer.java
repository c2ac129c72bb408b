package dev.statetune.eval;

import java.util.Map;

/**
 * The Porter stemmer as NLTK's {@code nltk.stem.porter.PorterStemmer} runs it in its default
 * NLTK_EXTENSIONS mode, the stemmer rouge_score uses: Porter (1980) plus NLTK's irregular-form table,
 * 'ies'/'ied' on four-letter words, the y→i rule of step 1c, 'alli' first, 'fulli' and 'logi' in step 2.
 */
public final class PorterStemmer {
    /** NLTK's table of irregular forms, looked up before any rule runs. */
    private static final Map<String, String> IRREGULAR = Map.ofEntries(
            Map.entry("sky", "sky"), Map.entry("skies", "sky"),
            Map.entry("dying", "die"), Map.entry("lying", "lie"), Map.entry("tying", "tie"),
            Map.entry("news", "news"),
            Map.entry("innings", "inning"), Map.entry("inning", "inning"),
            Map.entry("outings", "outing"), Map.entry("outing", "outing"),
            Map.entry("cannings", "canning"), Map.entry("canning", "canning"),
            Map.entry("howe", "howe"),
            Map.entry("proceed", "proceed"), Map.entry("exceed", "exceed"), Map.entry("succeed", "succeed"));

    /** A suffix rule: when the word ends with {@code suffix}, the stem before it is tested. */
    private interface Condition {
        boolean test(String stem);
    }

    private record Rule(String suffix, String replacement, Condition condition) {}

    /** Stems one word, lowercasing it first (NLTK's default {@code to_lowercase=True}). */
    public String stem(String word) {
        String w = word.toLowerCase(java.util.Locale.ROOT);
        String irregular = IRREGULAR.get(w);
        if (irregular != null) return irregular;
        // NLTK leaves words of one or two letters alone, which the published algorithm does not say.
        if (w.length() <= 2) return w;
        w = step1a(w);
        w = step1b(w);
        w = step1c(w);
        w = step2(w);
        w = step3(w);
        w = step4(w);
        w = step5a(w);
        return step5b(w);
    }

    private static boolean isConsonant(String w, int i) {
        char c = w.charAt(i);
        if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return false;
        if (c == 'y') return i == 0 || !isConsonant(w, i - 1);
        return true;
    }

    /** Porter's m: the number of vowel-run → consonant transitions in [C](VC)^m[V]. */
    private static int measure(String stem) {
        int m = 0;
        for (int i = 1; i < stem.length(); i++) if (!isConsonant(stem, i - 1) && isConsonant(stem, i)) m++;
        return m;
    }

    private static boolean positiveMeasure(String stem) {
        return measure(stem) > 0;
    }

    private static boolean containsVowel(String stem) {
        for (int i = 0; i < stem.length(); i++) if (!isConsonant(stem, i)) return true;
        return false;
    }

    private static boolean endsDoubleConsonant(String w) {
        int n = w.length();
        return n >= 2 && w.charAt(n - 1) == w.charAt(n - 2) && isConsonant(w, n - 1);
    }

    /** *o: consonant-vowel-consonant, the last not w, x or y; NLTK also accepts a two-letter vowel-consonant word. */
    private static boolean endsCvc(String w) {
        int n = w.length();
        if (n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)) {
            char last = w.charAt(n - 1);
            if (last != 'w' && last != 'x' && last != 'y') return true;
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1);
    }

    /**
     * The first rule whose suffix matches decides: its replacement when the condition holds, else the
     * word unchanged (later rules are not tried). Suffix "*d" matches a double consonant.
     */
    private static String applyRules(String w, Rule... rules) {
        for (Rule rule : rules) {
            String stem;
            if (rule.suffix.equals("*d")) {
                if (!endsDoubleConsonant(w)) continue;
                stem = w.substring(0, w.length() - 2);
            } else if (w.endsWith(rule.suffix)) {
                stem = w.substring(0, w.length() - rule.suffix.length());
            } else {
                continue;
            }
            return rule.condition == null || rule.condition.test(stem) ? stem + rule.replacement : w;
        }
        return w;
    }

    private static String step1a(String w) {
        // NLTK: 'dies' → 'die' but 'flies' → 'fli'.
        if (w.length() == 4 && w.endsWith("ies")) return w.substring(0, 1) + "ie";
        return applyRules(w,
                new Rule("sses", "ss", null),
                new Rule("ies", "i", null),
                new Rule("ss", "ss", null),
                new Rule("s", "", null));
    }

    private static String step1b(String w) {
        // NLTK: 'died' → 'die' but 'spied' → 'spi'.
        if (w.endsWith("ied")) return w.substring(0, w.length() - 3) + (w.length() == 4 ? "ie" : "i");
        if (w.endsWith("eed")) {
            String stem = w.substring(0, w.length() - 3);
            return measure(stem) > 0 ? stem + "ee" : w;
        }
        String stem = null;
        for (String suffix : new String[] {"ed", "ing"}) {
            if (w.endsWith(suffix)) {
                String candidate = w.substring(0, w.length() - suffix.length());
                if (containsVowel(candidate)) {
                    stem = candidate;
                    break;
                }
            }
        }
        if (stem == null) return w;
        char last = stem.isEmpty() ? 0 : stem.charAt(stem.length() - 1);
        return applyRules(stem,
                new Rule("at", "ate", null),
                new Rule("bl", "ble", null),
                new Rule("iz", "ize", null),
                new Rule("*d", String.valueOf(last), s -> last != 'l' && last != 's' && last != 'z'),
                new Rule("", "e", s -> measure(s) == 1 && endsCvc(s)));
    }

    private static String step1c(String w) {
        // NLTK: y → i only after a consonant that is not the whole stem ('happy' → 'happi', 'enjoy' stays).
        return applyRules(w, new Rule("y", "i", s -> s.length() > 1 && isConsonant(s, s.length() - 1)));
    }

    private static String step2(String w) {
        // NLTK applies 'alli' → 'al' first and, when it fires, runs step 2 again on the result.
        if (w.endsWith("alli") && positiveMeasure(w.substring(0, w.length() - 4))) {
            return step2(w.substring(0, w.length() - 4) + "al");
        }
        Condition m0 = PorterStemmer::positiveMeasure;
        return applyRules(w,
                new Rule("ational", "ate", m0),
                new Rule("tional", "tion", m0),
                new Rule("enci", "ence", m0),
                new Rule("anci", "ance", m0),
                new Rule("izer", "ize", m0),
                new Rule("bli", "ble", m0),
                new Rule("alli", "al", m0),
                new Rule("entli", "ent", m0),
                new Rule("eli", "e", m0),
                new Rule("ousli", "ous", m0),
                new Rule("ization", "ize", m0),
                new Rule("ation", "ate", m0),
                new Rule("ator", "ate", m0),
                new Rule("alism", "al", m0),
                new Rule("iveness", "ive", m0),
                new Rule("fulness", "ful", m0),
                new Rule("ousness", "ous", m0),
                new Rule("aliti", "al", m0),
                new Rule("iviti", "ive", m0),
                new Rule("biliti", "ble", m0),
                new Rule("fulli", "ful", m0),
                // The 'l' of 'logi' counts with the stem, so short stems like 'geo' and 'theo' qualify.
                new Rule("logi", "log", s -> positiveMeasure(w.substring(0, w.length() - 3))));
    }

    private static String step3(String w) {
        Condition m0 = PorterStemmer::positiveMeasure;
        return applyRules(w,
                new Rule("icate", "ic", m0),
                new Rule("ative", "", m0),
                new Rule("alize", "al", m0),
                new Rule("iciti", "ic", m0),
                new Rule("ical", "ic", m0),
                new Rule("ful", "", m0),
                new Rule("ness", "", m0));
    }

    private static String step4(String w) {
        Condition m1 = s -> measure(s) > 1;
        return applyRules(w,
                new Rule("al", "", m1),
                new Rule("ance", "", m1),
                new Rule("ence", "", m1),
                new Rule("er", "", m1),
                new Rule("ic", "", m1),
                new Rule("able", "", m1),
                new Rule("ible", "", m1),
                new Rule("ant", "", m1),
                new Rule("ement", "", m1),
                new Rule("ment", "", m1),
                new Rule("ent", "", m1),
                new Rule("ion", "", s -> measure(s) > 1 && (s.endsWith("s") || s.endsWith("t"))),
                new Rule("ou", "", m1),
                new Rule("ism", "", m1),
                new Rule("ate", "", m1),
                new Rule("iti", "", m1),
                new Rule("ous", "", m1),
                new Rule("ive", "", m1),
                new Rule("ize", "", m1));
    }

    private static String step5a(String w) {
        if (!w.endsWith("e")) return w;
        String stem = w.substring(0, w.length() - 1);
        int m = measure(stem);
        return m > 1 || (m == 1 && !endsCvc(stem)) ? stem : w;
    }

    private static String step5b(String w) {
        return applyRules(w, new Rule("ll", "l", s -> measure(w.substring(0, w.length() - 1)) > 1));
    }
}
