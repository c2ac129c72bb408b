package dev.statetune.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Compares our ids with the oracle's for many texts and fails once at the end, listing the first
 * mismatches with where the text came from, both id lists and the first index where they differ.
 */
final class Agreement {
    private static final int SHOWN = 10;

    private final Tokenizer ours;
    private final Oracle oracle;
    private final List<String> mismatches = new ArrayList<>();
    private int compared;
    private int mismatchCount;

    Agreement(Tokenizer ours, Oracle oracle) {
        this.ours = ours;
        this.oracle = oracle;
    }

    void check(String where, String text) {
        compared++;
        int[] expected = oracle.encode(text);
        int[] actual = ours.encode(text);
        if (!Arrays.equals(actual, expected)) {
            mismatchCount++;
            if (mismatches.size() < SHOWN) {
                int at = Arrays.mismatch(actual, expected);
                mismatches.add(where + ": " + escape(text) + "\n    first difference at index " + at
                        + "\n    ours:   " + window(actual, at) + "\n    oracle: " + window(expected, at));
            }
        }
    }

    /** The ids around index {@code at} (all of them for short lists), and how many there are. */
    private static String window(int[] ids, int at) {
        int from = Math.max(0, at - 8);
        int to = Math.min(ids.length, at + 16);
        StringBuilder b = new StringBuilder(from > 0 ? "[... " : "[");
        for (int i = from; i < to; i++) {
            b.append(i > from ? ", " : "").append(ids[i]);
        }
        return b.append(to < ids.length ? " ...]" : "]").append(" (").append(ids.length).append(" ids)").toString();
    }

    int compared() {
        return compared;
    }

    /** Fails listing the mismatches, if any; {@code what} names the data set in the message. */
    void assertNone(String what) {
        if (mismatchCount > 0) {
            fail(what + ": " + mismatchCount + " of " + compared + " texts tokenized differently from Hugging Face, first "
                    + mismatches.size() + ":\n" + String.join("\n", mismatches));
        }
    }

    /** The text with control and non-ASCII characters spelled as escapes, cut to 300 code points. */
    static String escape(String text) {
        StringBuilder b = new StringBuilder("\"");
        text.codePoints().limit(300).forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\') {
                b.append((char) cp);
            } else {
                b.append(String.format(cp > 0xFFFF ? "\\U%06X" : "\\u%04X", cp));
            }
        });
        return b.append(text.codePointCount(0, text.length()) > 300 ? "\"..." : "\"").toString();
    }
}
