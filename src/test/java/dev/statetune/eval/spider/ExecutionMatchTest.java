package dev.statetune.eval.spider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** result_eq's cases, written out by hand: order, duplicates, column permutations, Python's value equality. */
class ExecutionMatchTest {
    private static QueryResult.Rows rows(int columns, Object... values) {
        List<List<Object>> rows = new ArrayList<>();
        for (int i = 0; i < values.length; i += columns) rows.add(Arrays.asList(Arrays.copyOfRange(values, i, i + columns)));
        return new QueryResult.Rows(columns, rows);
    }

    @Test
    void rowOrderCountsOnlyWhenItMatters() {
        QueryResult.Rows a = rows(1, 1L, 2L, 3L), b = rows(1, 3L, 1L, 2L);
        assertTrue(ExecutionMatch.matches(a, b, false));
        assertFalse(ExecutionMatch.matches(a, b, true));
        assertTrue(ExecutionMatch.matches(a, rows(1, 1L, 2L, 3L), true));
    }

    @Test
    void duplicatesAreCountedNotCollapsed() {
        assertFalse(ExecutionMatch.matches(rows(1, 1L, 1L, 2L), rows(1, 1L, 2L, 2L), false));
        assertFalse(ExecutionMatch.matches(rows(1, 1L, 1L), rows(1, 1L), false));
        assertTrue(ExecutionMatch.matches(rows(1, 2L, 1L, 1L), rows(1, 1L, 2L, 1L), false));
    }

    @Test
    void columnsMayComeInAnyOrder() {
        QueryResult.Rows gold = rows(2, "pen", 1L, "ink", 2L);
        assertTrue(ExecutionMatch.matches(gold, rows(2, 1L, "pen", 2L, "ink"), false));
        assertTrue(ExecutionMatch.matches(gold, rows(2, 1L, "pen", 2L, "ink"), true));
        // Columns permute together: swapping values inside one row is not a permutation.
        assertFalse(ExecutionMatch.matches(rows(2, 1L, 2L, 3L, 4L), rows(2, 1L, 2L, 4L, 3L), false));
        assertFalse(ExecutionMatch.matches(gold, rows(3, "pen", 1L, 0L, "ink", 2L, 0L), false));
    }

    @Test
    void columnsWithEqualValueBagsAreTriedEveryWay() {
        // Both columns hold {1, 2, 3}: only the swap lines the rows up.
        QueryResult.Rows gold = rows(3, 1L, 3L, "a", 2L, 1L, "b", 3L, 2L, "c");
        assertTrue(ExecutionMatch.matches(gold, rows(3, "a", 3L, 1L, "b", 1L, 2L, "c", 2L, 3L), true));
        assertFalse(ExecutionMatch.matches(gold, rows(3, "a", 3L, 1L, "b", 2L, 1L, "c", 2L, 3L), false));
    }

    @Test
    void manyIdenticalColumnsDoNotExplode() {
        int columns = 12, n = 50;
        Object[] g = new Object[columns * n], p = new Object[columns * n];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < columns; c++) {
                g[r * columns + c] = c == 0 ? (Object) (long) r : null;
                p[r * columns + c] = c == columns - 1 ? (Object) (long) r : null;
            }
        }
        assertTrue(ExecutionMatch.matches(rows(columns, g), rows(columns, p), true));
    }

    @Test
    void emptyResultsMatchWhateverTheirColumns() {
        assertTrue(ExecutionMatch.matches(rows(1), rows(3), false));
        assertFalse(ExecutionMatch.matches(rows(1), rows(1, 1L), false));
        assertFalse(ExecutionMatch.matches(rows(1, 1L), rows(1), false));
    }

    @Test
    void valuesCompareAsPythonDoes() {
        assertTrue(ExecutionMatch.matches(rows(1, 1L, 2.5), rows(1, 1.0, 2.5), false), "1 == 1.0");
        assertTrue(ExecutionMatch.matches(rows(1, 0L), rows(1, -0.0), false), "0 == -0.0");
        assertFalse(ExecutionMatch.matches(rows(1, 1L), rows(1, "1"), false), "1 != '1'");
        assertFalse(ExecutionMatch.matches(rows(1, 0.1 + 0.2), rows(1, 0.3), false), "floats compare exactly");
        assertFalse(ExecutionMatch.matches(rows(1, (1L << 53) + 1), rows(1, 0x1p53), false), "int/float compare exactly");
        assertTrue(ExecutionMatch.matches(rows(2, null, "x"), rows(2, null, "x"), true), "None == None");
        assertFalse(ExecutionMatch.matches(rows(1, (Object) null), rows(1, 0L), false));
        assertTrue(ExecutionMatch.matches(rows(1, (Object) new byte[] {1, 2}), rows(1, (Object) new byte[] {1, 2}), false));
        assertFalse(ExecutionMatch.matches(rows(1, (Object) new byte[] {1, 2}), rows(1, "\u0001\u0002"), false));
        assertFalse(ExecutionMatch.matches(rows(1, "Pen"), rows(1, "pen"), false), "strings are case-sensitive");
    }

    @Test
    void orderMattersIsTheOfficialSubstringTest() {
        assertTrue(ExecutionMatch.orderMatters("SELECT a FROM t ORDER BY a"));
        assertTrue(ExecutionMatch.orderMatters("select a from t order by a limit 1"));
        assertFalse(ExecutionMatch.orderMatters("SELECT a FROM t GROUP BY a"));
    }

    @Test
    void queryTextIsPreparedAsTheOfficialEvaluatorDoes() {
        assertEquals("SELECT  name FROM t WHERE a >= 1 AND b != 2 AND c <= 3",
                SpiderQueryText.prepare("SELECT DISTINCT name FROM t WHERE a > = 1 AND b ! = 2 AND c < = 3", false));
        assertEquals("SELECT count( name) FROM t WHERE x = 'distinct'",
                SpiderQueryText.prepare("SELECT count(DISTINCT name) FROM t WHERE x = 'distinct'", false));
        assertEquals("SELECT DISTINCT name FROM t", SpiderQueryText.prepare("SELECT DISTINCT name FROM t", true));
    }
}
