package dev.statetune.eval.spider;

import java.util.List;
import java.util.Set;

/**
 * Turns away predicted SQL that is not one read statement before it reaches SQLite. A courtesy that
 * gives a clear reason; the read-only connection in {@link SqlExecutor} is what actually protects the
 * databases, and is tested without this check in front of it.
 */
final class ReadStatementCheck {
    /** Statement keywords; REPLACE only counts when it is not the replace(...) function. */
    private static final Set<String> WRITE_KEYWORDS = Set.of("insert", "update", "delete", "drop", "create",
            "alter", "attach", "detach", "pragma", "vacuum", "reindex", "analyze", "begin", "commit", "rollback",
            "savepoint", "release", "replace");

    private ReadStatementCheck() {}

    /** Why the SQL may not run, or null when it is a single SELECT (or WITH … SELECT, or VALUES). */
    static String rejectReason(String sql) {
        List<SqlLexer.Token> tokens;
        try {
            tokens = SqlLexer.tokens(sql);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        int end = tokens.size();
        while (end > 0 && tokens.get(end - 1).is(";")) end--;
        if (end == 0) return "empty query";
        SqlLexer.Token first = tokens.get(0);
        if (!(first.is("select") || first.is("with") || first.is("values") || first.is("("))) {
            return "not a SELECT: starts with " + first.text();
        }
        for (int i = 0; i < end; i++) {
            SqlLexer.Token t = tokens.get(i);
            if (t.is(";")) return "more than one statement";
            if (t.type() == SqlLexer.Type.WORD && WRITE_KEYWORDS.contains(t.lower())
                    && !(t.is("replace") && i + 1 < end && tokens.get(i + 1).is("("))) {
                return "contains " + t.text().toUpperCase(java.util.Locale.ROOT);
            }
        }
        return null;
    }
}
