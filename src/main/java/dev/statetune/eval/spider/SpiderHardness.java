package dev.statetune.eval.spider;

import java.util.List;
import java.util.Locale;

/**
 * Spider's hardness levels, from the gold SQL, as the official evaluation.py's eval_hardness computes
 * them from count_component1, count_component2 and count_others — including two accidents of that
 * code kept on purpose so that the per-level counts match published ones: its aggregation count
 * tests element [0] of each WHERE condition, which is the condition's NOT flag, so "x NOT IN (…)"
 * counts as an aggregation and avg(x) > 3 does not; and it tests every element of the HAVING list,
 * where conditions give their NOT flag and each and/or connector (a non-empty string) counts as one.
 */
public enum SpiderHardness {
    EASY, MEDIUM, HARD, EXTRA;

    /** The three counts eval_hardness thresholds. */
    public record Counts(int component1, int component2, int others) {}

    /** The level's name as the official report prints it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Throws IllegalArgumentException when the SQL is outside the subset the parser reads. */
    public static SpiderHardness of(String goldSql) {
        return of(counts(goldSql));
    }

    public static SpiderHardness of(Counts c) {
        int comp1 = c.component1(), comp2 = c.component2(), others = c.others();
        if (comp1 <= 1 && others == 0 && comp2 == 0) return EASY;
        if ((others <= 2 && comp1 <= 1 && comp2 == 0) || (comp1 <= 2 && others < 2 && comp2 == 0)) return MEDIUM;
        if ((others > 2 && comp1 <= 2 && comp2 == 0) || (2 < comp1 && comp1 <= 3 && others <= 2 && comp2 == 0)
                || (comp1 <= 1 && others == 0 && comp2 <= 1)) return HARD;
        return EXTRA;
    }

    /** Only the outermost query counts; the insides of subqueries and set operands do not. */
    public static Counts counts(String goldSql) {
        SpiderSqlParser.Query q = SpiderSqlParser.parse(goldSql);
        List<SpiderSqlParser.Conditions> all = List.of(q.joinConditions(), q.where(), q.having());

        int component1 = (q.where().isEmpty() ? 0 : 1) + (q.groupBy() > 0 ? 1 : 0) + (q.orderBy() ? 1 : 0)
                + (q.limit() ? 1 : 0) + Math.max(0, q.tableUnits() - 1);
        int component2 = q.setOp() != null ? 1 : 0;
        for (SpiderSqlParser.Conditions list : all) {
            component1 += (int) list.connectors().stream().filter("or"::equals).count();
            for (SpiderSqlParser.Condition c : list.conditions()) {
                if (c.op().equals("like")) component1++;
                component2 += c.nestedValues();
            }
        }

        int aggregates = q.selectAggregates() + negated(q.where()) + q.groupByAggregates() + q.orderByAggregates()
                + q.having().connectors().size() + negated(q.having());
        int others = (aggregates > 1 ? 1 : 0) + (q.selectItems() > 1 ? 1 : 0)
                + (q.where().conditions().size() > 1 ? 1 : 0) + (q.groupBy() > 1 ? 1 : 0);
        return new Counts(component1, component2, others);
    }

    private static int negated(SpiderSqlParser.Conditions list) {
        return (int) list.conditions().stream().filter(SpiderSqlParser.Condition::not).count();
    }
}
