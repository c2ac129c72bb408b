package dev.statetune.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's whitespace, for the reference implementations written in it: {@code str.isspace} counts the
 * no-break spaces and U+0085 that Java's {@code Character.isWhitespace} leaves out.
 */
final class PythonText {
    private PythonText() {}

    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /** {@code str.split()}: runs of whitespace separate, no empty pieces. */
    static List<String> split(String s) {
        List<String> pieces = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= s.length(); i++) {
            boolean space = i == s.length() || isSpace(s.charAt(i));
            if (!space && start < 0) start = i;
            if (space && start >= 0) {
                pieces.add(s.substring(start, i));
                start = -1;
            }
        }
        return pieces;
    }

    /** {@code str.rstrip()}. */
    static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.charAt(end - 1))) end--;
        return s.substring(0, end);
    }
}
