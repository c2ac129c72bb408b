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

    /** Tests the stem left once a rule's suffix is cut from the word (a few NLTK rules look at the word). */
    private interface Condition {
        boolean test(String word, String stem);
    }

    private static final Condition ALWAYS = (w, s) -> true;
    private static final Condition M_POSITIVE = (w, s) -> measure(s) > 0;
    private static final Condition M_ABOVE_1 = (w, s) -> measure(s) > 1;

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
     * word unchanged (later rules are not tried). Suffix "*d" matches a double consonant, which the
     * replacement "*" puts back single.
     */
    private static String applyRules(String w, Rule[] rules) {
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
            if (!rule.condition.test(w, stem)) return w;
            return stem + (rule.replacement.equals("*") ? w.substring(w.length() - 1) : rule.replacement);
        }
        return w;
    }

    private static String step1a(String w) {
        // NLTK: 'dies' → 'die' but 'flies' → 'fli'.
        if (w.length() == 4 && w.endsWith("ies")) return w.substring(0, 1) + "ie";
        return applyRules(w, STEP_1A);
    }

    private static final Rule[] STEP_1A = {
            new Rule("sses", "ss", ALWAYS),
            new Rule("ies", "i", ALWAYS),
            new Rule("ss", "ss", ALWAYS),
            new Rule("s", "", ALWAYS)};

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
        return stem == null ? w : applyRules(stem, STEP_1B_AFTER_ED_ING);
    }

    private static final Rule[] STEP_1B_AFTER_ED_ING = {
            new Rule("at", "ate", ALWAYS),
            new Rule("bl", "ble", ALWAYS),
            new Rule("iz", "ize", ALWAYS),
            new Rule("*d", "*", (w, s) -> "lsz".indexOf(w.charAt(w.length() - 1)) < 0),
            new Rule("", "e", (w, s) -> measure(s) == 1 && endsCvc(s))};

    private static String step1c(String w) {
        // NLTK: y → i only after a consonant that is not the whole stem ('happy' → 'happi', 'enjoy' stays).
        return applyRules(w, STEP_1C);
    }

    private static final Rule[] STEP_1C = {new Rule("y", "i", (w, s) -> s.length() > 1 && isConsonant(s, s.length() - 1))};

    private static String step2(String w) {
        // NLTK applies 'alli' → 'al' first and, when it fires, runs step 2 again on the result.
        if (w.endsWith("alli") && measure(w.substring(0, w.length() - 4)) > 0) {
            return step2(w.substring(0, w.length() - 4) + "al");
        }
        return applyRules(w, STEP_2);
    }

    private static final Rule[] STEP_2 = {
            new Rule("ational", "ate", M_POSITIVE),
            new Rule("tional", "tion", M_POSITIVE),
            new Rule("enci", "ence", M_POSITIVE),
            new Rule("anci", "ance", M_POSITIVE),
            new Rule("izer", "ize", M_POSITIVE),
            new Rule("bli", "ble", M_POSITIVE),
            new Rule("alli", "al", M_POSITIVE),
            new Rule("entli", "ent", M_POSITIVE),
            new Rule("eli", "e", M_POSITIVE),
            new Rule("ousli", "ous", M_POSITIVE),
            new Rule("ization", "ize", M_POSITIVE),
            new Rule("ation", "ate", M_POSITIVE),
            new Rule("ator", "ate", M_POSITIVE),
            new Rule("alism", "al", M_POSITIVE),
            new Rule("iveness", "ive", M_POSITIVE),
            new Rule("fulness", "ful", M_POSITIVE),
            new Rule("ousness", "ous", M_POSITIVE),
            new Rule("aliti", "al", M_POSITIVE),
            new Rule("iviti", "ive", M_POSITIVE),
            new Rule("biliti", "ble", M_POSITIVE),
            new Rule("fulli", "ful", M_POSITIVE),
            // The 'l' of 'logi' counts with the stem, so short stems like 'geo' and 'theo' qualify.
            new Rule("logi", "log", (w, s) -> measure(w.substring(0, w.length() - 3)) > 0)};

    private static String step3(String w) {
        return applyRules(w, STEP_3);
    }

    private static final Rule[] STEP_3 = {
            new Rule("icate", "ic", M_POSITIVE),
            new Rule("ative", "", M_POSITIVE),
            new Rule("alize", "al", M_POSITIVE),
            new Rule("iciti", "ic", M_POSITIVE),
            new Rule("ical", "ic", M_POSITIVE),
            new Rule("ful", "", M_POSITIVE),
            new Rule("ness", "", M_POSITIVE)};

    private static String step4(String w) {
        return applyRules(w, STEP_4);
    }

    private static final Rule[] STEP_4 = {
            new Rule("al", "", M_ABOVE_1),
            new Rule("ance", "", M_ABOVE_1),
            new Rule("ence", "", M_ABOVE_1),
            new Rule("er", "", M_ABOVE_1),
            new Rule("ic", "", M_ABOVE_1),
            new Rule("able", "", M_ABOVE_1),
            new Rule("ible", "", M_ABOVE_1),
            new Rule("ant", "", M_ABOVE_1),
            new Rule("ement", "", M_ABOVE_1),
            new Rule("ment", "", M_ABOVE_1),
            new Rule("ent", "", M_ABOVE_1),
            new Rule("ion", "", (w, s) -> measure(s) > 1 && (s.endsWith("s") || s.endsWith("t"))),
            new Rule("ou", "", M_ABOVE_1),
            new Rule("ism", "", M_ABOVE_1),
            new Rule("ate", "", M_ABOVE_1),
            new Rule("iti", "", M_ABOVE_1),
            new Rule("ous", "", M_ABOVE_1),
            new Rule("ive", "", M_ABOVE_1),
            new Rule("ize", "", M_ABOVE_1)};

    private static String step5a(String w) {
        if (!w.endsWith("e")) return w;
        String stem = w.substring(0, w.length() - 1);
        int m = measure(stem);
        return m > 1 || (m == 1 && !endsCvc(stem)) ? stem : w;
    }

    private static String step5b(String w) {
        return applyRules(w, STEP_5B);
    }

    private static final Rule[] STEP_5B = {new Rule("ll", "l", (w, s) -> measure(w.substring(0, w.length() - 1)) > 1)};
}
