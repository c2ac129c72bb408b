package dev.statetune.eval.spider;

import java.util.List;

/**
 * The rewriting test-suite-sql-eval applies to both queries before executing them: its
 * {@code postprocess} (joins "> =", "< =" and "! =", which Spider's tokenized gold contains) and,
 * unless --keep_distinct is given (the default is to drop it), {@code remove_distinct}, which deletes
 * every DISTINCT keyword, so that SELECT DISTINCT x and SELECT x score alike.
 */
public final class SpiderQueryText {
    private SpiderQueryText() {}

    public static String prepare(String sql, boolean keepDistinct) {
        String joined = sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=");
        return keepDistinct ? joined : removeDistinct(joined);
    }

    /** Cuts the DISTINCT keywords out of the original text; quoted strings keep theirs. */
    static String removeDistinct(String sql) {
        List<SqlLexer.Token> tokens;
        try {
            tokens = SqlLexer.tokens(sql);
        } catch (IllegalArgumentException e) {
            return sql; // unlexable SQL fails in SQLite with or without DISTINCT
        }
        StringBuilder out = new StringBuilder(sql.length());
        int from = 0;
        for (SqlLexer.Token t : tokens) {
            if (t.type() == SqlLexer.Type.WORD && t.is("distinct")) {
                out.append(sql, from, t.start());
                from = t.end();
            }
        }
        return out.append(sql, from, sql.length()).toString();
    }
}
