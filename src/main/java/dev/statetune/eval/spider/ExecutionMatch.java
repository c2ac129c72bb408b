package dev.statetune.eval.spider;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whether two query results denote the same thing, with the semantics of test-suite-sql-eval's
 * {@code result_eq}: two empty results match (whatever their columns); otherwise the row counts and
 * column counts must agree, and some permutation of the predicted columns must make the rows equal —
 * as lists when order matters, as multisets (duplicates counted) when it does not. Values compare as
 * Python compares sqlite3's values: 1 == 1.0, 1 != '1', NULL == NULL, bytes by content.
 *
 * Where we differ: the official search samples rows to prune column permutations when there are more
 * than three columns; we prune with each column's multiset of values, which rejects only permutations
 * that could never match, so the answer is the same without the randomness. Its {@code quick_rej}
 * pre-check sorts each row's values by {@code str(v) + str(type(v))}, which can reject a match only
 * because an int and a float sort apart; we do not reproduce that accident.
 */
public final class ExecutionMatch {
    private ExecutionMatch() {}

    /** The official rule: order matters when the gold query's lowercased text contains "order by". */
    public static boolean orderMatters(String goldSql) {
        return goldSql.toLowerCase(Locale.ROOT).contains("order by");
    }

    public static boolean matches(QueryResult.Rows gold, QueryResult.Rows predicted, boolean orderMatters) {
        List<List<Object>> g = keys(gold.rows()), p = keys(predicted.rows());
        if (g.isEmpty() && p.isEmpty()) return true;
        if (g.size() != p.size()) return false;
        int columns = g.get(0).size();
        if (p.get(0).size() != columns) return false;
        List<Map<Object, Integer>> goldColumns = columnBags(g, columns), predictedColumns = columnBags(p, columns);
        List<List<Object>> predictedColumnValues = columnValues(p, columns);
        return search(g, p, orderMatters, goldColumns, predictedColumns, predictedColumnValues,
                new int[columns], new boolean[columns], 0);
    }

    /** Assigns a predicted column to gold column {@code at}, then recurses; tests the rows when all are placed. */
    private static boolean search(List<List<Object>> g, List<List<Object>> p, boolean orderMatters,
                                  List<Map<Object, Integer>> goldColumns, List<Map<Object, Integer>> predictedColumns,
                                  List<List<Object>> predictedColumnValues, int[] perm, boolean[] used, int at) {
        int columns = perm.length;
        if (at == columns) return rowsEqual(g, permuted(p, perm), orderMatters);
        for (int j = 0; j < columns; j++) {
            if (used[j] || !goldColumns.get(at).equals(predictedColumns.get(j))) continue;
            // Columns holding identical values give identical rows either way round: try one of them.
            if (hasIdenticalUnusedBefore(j, used, predictedColumnValues)) continue;
            used[j] = true;
            perm[at] = j;
            if (search(g, p, orderMatters, goldColumns, predictedColumns, predictedColumnValues, perm, used, at + 1)) return true;
            used[j] = false;
        }
        return false;
    }

    private static boolean hasIdenticalUnusedBefore(int j, boolean[] used, List<List<Object>> columnValues) {
        for (int k = 0; k < j; k++) if (!used[k] && columnValues.get(k).equals(columnValues.get(j))) return true;
        return false;
    }

    private static boolean rowsEqual(List<List<Object>> g, List<List<Object>> p, boolean orderMatters) {
        return orderMatters ? g.equals(p) : bag(g).equals(bag(p));
    }

    private static List<List<Object>> permuted(List<List<Object>> rows, int[] perm) {
        List<List<Object>> out = new ArrayList<>(rows.size());
        for (List<Object> row : rows) {
            List<Object> r = new ArrayList<>(perm.length);
            for (int j : perm) r.add(row.get(j));
            out.add(r);
        }
        return out;
    }

    private static <T> Map<T, Integer> bag(List<T> items) {
        Map<T, Integer> counts = new HashMap<>();
        for (T item : items) counts.merge(item, 1, Integer::sum);
        return counts;
    }

    private static List<Map<Object, Integer>> columnBags(List<List<Object>> rows, int columns) {
        List<Map<Object, Integer>> bags = new ArrayList<>(columns);
        for (List<Object> column : columnValues(rows, columns)) bags.add(bag(column));
        return bags;
    }

    private static List<List<Object>> columnValues(List<List<Object>> rows, int columns) {
        List<List<Object>> out = new ArrayList<>(columns);
        for (int c = 0; c < columns; c++) {
            List<Object> column = new ArrayList<>(rows.size());
            for (List<Object> row : rows) column.add(row.get(c));
            out.add(column);
        }
        return out;
    }

    private static List<List<Object>> keys(List<List<Object>> rows) {
        List<List<Object>> out = new ArrayList<>(rows.size());
        for (List<Object> row : rows) {
            List<Object> r = new ArrayList<>(row.size());
            for (Object v : row) r.add(key(v));
            out.add(r);
        }
        return out;
    }

    /**
     * A value whose equals/hashCode follow Python's ==: a double that is a whole number in long range
     * becomes that Long (Python's int/float comparison is exact, and so is this), -0.0 becomes 0,
     * byte[] compares by content.
     */
    static Object key(Object v) {
        if (v instanceof Double d && d == Math.rint(d) && d >= -0x1p63 && d < 0x1p63) return (long) (double) d;
        if (v instanceof Float f) return key((double) f);
        if (v instanceof Integer i) return (long) i;
        if (v instanceof byte[] b) return ByteBuffer.wrap(b.clone()).asReadOnlyBuffer();
        return v; // null equals null in List.equals and as a HashMap key, as None == None
    }
}
