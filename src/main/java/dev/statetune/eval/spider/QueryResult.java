package dev.statetune.eval.spider;

import java.util.List;

/**
 * What one query did on a Spider database: its rows, or why there are none. A predicted query that
 * fails, runs too long or returns too much is an outcome to score, not an exception, as in
 * test-suite-sql-eval's {@code exec_on_db}, which returns ('exception', e) instead of raising.
 */
public sealed interface QueryResult {
    /** The short name the per-example records carry: ok, error, timeout, too_many_rows, rejected. */
    String kind();

    /** Rows in the order SQLite returned them; values are null, Long, Double, String or byte[]. */
    record Rows(int columnCount, List<List<Object>> rows) implements QueryResult {
        public Rows {
            rows = List.copyOf(rows);
        }

        @Override
        public String kind() {
            return "ok";
        }
    }

    /** SQLite refused the query or failed while running it (syntax, missing table, read-only database). */
    record Failed(String message) implements QueryResult {
        @Override
        public String kind() {
            return "error";
        }
    }

    record TimedOut(long millis) implements QueryResult {
        @Override
        public String kind() {
            return "timeout";
        }
    }

    /** More than the row limit: scored wrong without holding the rows. */
    record TooManyRows(int limit) implements QueryResult {
        @Override
        public String kind() {
            return "too_many_rows";
        }
    }

    /** Not a single read statement, so never sent to SQLite. */
    record Rejected(String reason) implements QueryResult {
        @Override
        public String kind() {
            return "rejected";
        }
    }
}
