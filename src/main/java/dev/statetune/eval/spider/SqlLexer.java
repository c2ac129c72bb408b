package dev.statetune.eval.spider;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits SQLite SQL into words, numbers, quoted strings/identifiers and symbols, dropping comments and
 * whitespace. Shared by the read-statement check, DISTINCT removal and the hardness parser so that all
 * three agree on what is inside a string literal.
 */
final class SqlLexer {
    enum Type { WORD, NUMBER, QUOTED, SYMBOL }

    /** {@code start}/{@code end} index the source, so callers can cut the original text around a token. */
    record Token(Type type, String text, int start, int end) {
        String lower() {
            return text.toLowerCase(Locale.ROOT);
        }

        boolean is(String word) {
            return (type == Type.WORD || type == Type.SYMBOL) && text.equalsIgnoreCase(word);
        }
    }

    private static final List<String> TWO_CHAR_SYMBOLS = List.of("!=", "<>", ">=", "<=", "==", "||");

    private SqlLexer() {}

    /** Throws IllegalArgumentException on an unterminated string or comment. */
    static List<Token> tokens(String sql) {
        List<Token> out = new ArrayList<>();
        int i = 0, n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (sql.startsWith("--", i)) {
                int eol = sql.indexOf('\n', i);
                i = eol < 0 ? n : eol + 1;
            } else if (sql.startsWith("/*", i)) {
                int close = sql.indexOf("*/", i + 2);
                if (close < 0) throw new IllegalArgumentException("unterminated comment at " + i);
                i = close + 2;
            } else if (c == '\'' || c == '"' || c == '`' || c == '[') {
                int end = quotedEnd(sql, i, c == '[' ? ']' : c);
                out.add(new Token(Type.QUOTED, sql.substring(i, end), i, end));
                i = end;
            } else if (Character.isDigit(c) || (c == '.' && i + 1 < n && Character.isDigit(sql.charAt(i + 1)))) {
                int end = i;
                while (end < n && (Character.isLetterOrDigit(sql.charAt(end)) || sql.charAt(end) == '.'
                        || ((sql.charAt(end) == '+' || sql.charAt(end) == '-')
                            && Character.toLowerCase(sql.charAt(end - 1)) == 'e'))) end++;
                out.add(new Token(Type.NUMBER, sql.substring(i, end), i, end));
                i = end;
            } else if (isWordChar(c)) {
                // T1.name and T1.* are one token: Spider's queries qualify columns by alias.
                int end = i;
                while (end < n && (isWordChar(sql.charAt(end)) || (sql.charAt(end) == '.' && end + 1 < n
                        && (isWordChar(sql.charAt(end + 1)) || sql.charAt(end + 1) == '*')))) {
                    end += sql.charAt(end) == '.' && sql.charAt(end + 1) == '*' ? 2 : 1;
                }
                out.add(new Token(Type.WORD, sql.substring(i, end), i, end));
                i = end;
            } else {
                String two = i + 1 < n ? sql.substring(i, i + 2) : "";
                int len = TWO_CHAR_SYMBOLS.contains(two) ? 2 : 1;
                out.add(new Token(Type.SYMBOL, sql.substring(i, i + len), i, i + len));
                i += len;
            }
        }
        return out;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    /** A doubled closing quote inside the literal is an escaped quote, as in SQL. */
    private static int quotedEnd(String sql, int open, char close) {
        int i = open + 1;
        while (i < sql.length()) {
            if (sql.charAt(i) == close) {
                if (close != ']' && i + 1 < sql.length() && sql.charAt(i + 1) == close) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        throw new IllegalArgumentException("unterminated " + sql.charAt(open) + " at " + open);
    }
}
