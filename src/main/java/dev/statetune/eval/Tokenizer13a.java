package dev.statetune.eval;

import java.util.regex.Pattern;

/**
 * The '13a' tokenizer of mteval-v13a.pl, as sacrebleu's {@code Tokenizer13a} runs it (its default for
 * BLEU): unescape four HTML entities, split off ASCII punctuation and symbols, split '.' and ',' except
 * between digits, and '-' after a digit. Apostrophes and other hyphens stay inside words.
 */
final class Tokenizer13a {
    private Tokenizer13a() {}

    /** {-~, [-`, space-&, (-+, :-@ and / : ASCII punctuation and symbols other than ' - . , */
    private static final Pattern SYMBOL = Pattern.compile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])");
    private static final Pattern POINT_AFTER_NON_DIGIT = Pattern.compile("([^0-9])([\\.,])");
    private static final Pattern POINT_BEFORE_NON_DIGIT = Pattern.compile("([\\.,])([^0-9])");
    private static final Pattern DASH_AFTER_DIGIT = Pattern.compile("([0-9])(-)");

    static String tokenize(String line) {
        line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ");
        if (line.contains("&")) {
            line = line.replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
        }
        line = " " + line + " ";
        line = SYMBOL.matcher(line).replaceAll(" $1 ");
        line = POINT_AFTER_NON_DIGIT.matcher(line).replaceAll("$1 $2 ");
        line = POINT_BEFORE_NON_DIGIT.matcher(line).replaceAll(" $1 $2");
        line = DASH_AFTER_DIGIT.matcher(line).replaceAll("$1 $2 ");
        return String.join(" ", PythonText.split(line));
    }
}
