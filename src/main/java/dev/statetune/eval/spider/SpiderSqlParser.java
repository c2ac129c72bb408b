package dev.statetune.eval.spider;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A recursive-descent parser for Spider's SQL subset that keeps only what the hardness levels count:
 * the shape of process_sql.get_sql's output (select items, table units, condition lists with their
 * and/or connectors, group-by, order-by, limit, one set operation), without resolving names against
 * the schema. Also reads a little more than the official parser (CASE, CAST, other functions, comma
 * joins, parenthesized condition groups) so that predicted SQL does not trip it.
 */
final class SpiderSqlParser {
    private static final Set<String> AGGREGATES = Set.of("count", "sum", "avg", "min", "max");
    private static final Set<String> COMPARISONS = Set.of("=", "==", "!=", "<>", ">", "<", ">=", "<=",
            "in", "like", "between", "is", "glob");
    private static final Set<String> ARITHMETIC = Set.of("+", "-", "*", "/", "%", "||");
    private static final Set<String> SET_OPS = Set.of("union", "intersect", "except");
    /** Where parse_value's scan for the end of a column value stops (see skipLikeParseValue). */
    private static final Set<String> VALUE_SCAN_STOPS = Set.of(",", ")", "(", ";", "and", "select", "from",
            "where", "group", "having", "order", "limit", "intersect", "union", "except", "join", "on", "as");
    /** Words that end an expression, so that an unmarked alias is never mistaken for one of them. */
    private static final Set<String> RESERVED = Set.of("select", "from", "where", "group", "having", "order",
            "limit", "offset", "union", "intersect", "except", "join", "on", "using", "as", "inner", "left",
            "right", "full", "outer", "cross", "natural", "and", "or", "not", "asc", "desc", "by", "in", "like",
            "between", "is", "glob", "exists", "when", "then", "else", "end");

    /** One comparison: NOT before its operator, the operator, and how many of its values are subqueries. */
    record Condition(boolean not, String op, int nestedValues) {}

    /** Conditions and the and/or words between them, as process_sql's alternating list keeps them. */
    record Conditions(List<Condition> conditions, List<String> connectors) {
        static Conditions none() {
            return new Conditions(List.of(), List.of());
        }

        boolean isEmpty() {
            return conditions.isEmpty();
        }
    }

    /** One SELECT; {@code setOperand} is the query after its UNION / INTERSECT / EXCEPT, if any. */
    record Query(int selectItems, int selectAggregates, int tableUnits, Conditions joinConditions,
                 Conditions where, int groupBy, int groupByAggregates, Conditions having, boolean orderBy,
                 int orderByAggregates, boolean limit, String setOp, Query setOperand) {}

    /** {@code aggregateTerms} counts top-level terms such as count(*) in count(*) + 1. */
    private record Expr(boolean startsWithAggregate, int aggregateTerms, Query subquery) {}

    private final List<SqlLexer.Token> tokens;
    private int at;

    private SpiderSqlParser(List<SqlLexer.Token> tokens) {
        this.tokens = tokens;
    }

    /** Throws IllegalArgumentException, naming the token, on SQL outside the subset. */
    static Query parse(String sql) {
        SpiderSqlParser p = new SpiderSqlParser(SqlLexer.tokens(sql));
        Query q = p.query();
        while (p.accept(";")) {
            // trailing semicolons end the statement
        }
        if (p.at < p.tokens.size()) throw p.error("unexpected");
        return q;
    }

    private Query query() {
        Query q;
        if (peek("(", 0) && peek("select", 1)) {
            at++;
            q = query();
            expect(")");
        } else {
            q = select();
        }
        if (at < tokens.size() && SET_OPS.contains(tokens.get(at).lower()) && q.setOp() == null) {
            String op = tokens.get(at++).lower();
            accept("all");
            Query operand = query();
            q = new Query(q.selectItems(), q.selectAggregates(), q.tableUnits(), q.joinConditions(), q.where(),
                    q.groupBy(), q.groupByAggregates(), q.having(), q.orderBy(), q.orderByAggregates(), q.limit(),
                    op, operand);
        }
        return q;
    }

    private Query select() {
        expect("select");
        if (!accept("distinct")) accept("all");
        int items = 0, aggregates = 0;
        do {
            Expr e = expr();
            alias();
            items++;
            if (e.startsWithAggregate()) aggregates++;
        } while (accept(","));
        int[] tableUnits = {0};
        Conditions joins = accept("from") ? from(tableUnits) : Conditions.none();
        Conditions where = accept("where") ? conditions() : Conditions.none();
        int groupBy = 0, groupByAggregates = 0;
        if (accept("group")) {
            expect("by");
            do {
                groupByAggregates += expr().aggregateTerms();
                groupBy++;
            } while (accept(","));
        }
        Conditions having = accept("having") ? conditions() : Conditions.none();
        boolean orderBy = accept("order");
        int orderByAggregates = 0;
        if (orderBy) {
            expect("by");
            do {
                orderByAggregates += expr().aggregateTerms();
                if (!accept("asc")) accept("desc");
            } while (accept(","));
        }
        boolean limit = accept("limit");
        if (limit) {
            expr();
            if (accept(",") || accept("offset")) expr();
        }
        return new Query(items, aggregates, tableUnits[0], joins, where, groupBy, groupByAggregates, having,
                orderBy, orderByAggregates, limit, null, null);
    }

    /** Table units joined by JOIN or commas; all ON conditions in one list, joined by 'and' as process_sql does. */
    private Conditions from(int[] tableUnits) {
        List<Condition> conditions = new ArrayList<>();
        List<String> connectors = new ArrayList<>();
        tableUnit();
        tableUnits[0]++;
        while (true) {
            if (accept(",") || joinKeyword()) {
                tableUnit();
                tableUnits[0]++;
            } else if (accept("on")) {
                Conditions on = conditions();
                if (!conditions.isEmpty()) connectors.add("and");
                conditions.addAll(on.conditions());
                connectors.addAll(on.connectors());
            } else if (accept("using")) {
                skipParenthesized();
            } else {
                return new Conditions(conditions, connectors);
            }
        }
    }

    private boolean joinKeyword() {
        int start = at;
        accept("natural");
        if (accept("left") || accept("right") || accept("full")) accept("outer");
        else if (!accept("inner")) accept("cross");
        if (accept("join")) return true;
        at = start;
        return false;
    }

    private void tableUnit() {
        if (accept("(")) {
            query();
            expect(")");
        } else {
            SqlLexer.Token t = next();
            if (t.type() != SqlLexer.Type.WORD && t.type() != SqlLexer.Type.QUOTED) throw error("table expected at");
        }
        alias();
    }

    private void alias() {
        if (accept("as")) {
            next();
        } else if (at < tokens.size() && (tokens.get(at).type() == SqlLexer.Type.QUOTED
                || tokens.get(at).type() == SqlLexer.Type.WORD && !RESERVED.contains(tokens.get(at).lower()))) {
            at++;
        }
    }

    private Conditions conditions() {
        List<Condition> conditions = new ArrayList<>();
        List<String> connectors = new ArrayList<>();
        do {
            if (!conditions.isEmpty()) connectors.add(tokens.get(at - 1).lower());
            int start = at;
            try {
                conditions.add(condition());
            } catch (IllegalArgumentException notOne) {
                // "(a = 1 OR b = 2)": a parenthesized group, flattened into this list.
                at = start;
                if (!accept("(")) throw notOne;
                Conditions group = conditions();
                expect(")");
                conditions.addAll(group.conditions());
                connectors.addAll(group.connectors());
            }
        } while (accept("and") || accept("or"));
        return new Conditions(conditions, connectors);
    }

    private Condition condition() {
        boolean not = accept("not");
        if (accept("exists")) {
            expect("(");
            query();
            expect(")");
            return new Condition(not, "exists", 1);
        }
        expr();
        if (accept("not")) not = true;
        String op = next().lower();
        if (!COMPARISONS.contains(op)) throw error("comparison expected before");
        if (op.equals("is")) accept("not");
        int valueStart = at;
        int nested = value();
        if (op.equals("between")) {
            expect("and");
            nested += value();
        } else {
            skipLikeParseValue(valueStart);
        }
        return new Condition(not, op, nested);
    }

    /**
     * process_sql's parse_value reads a column value by scanning ahead to the next ',', ')', 'and',
     * clause or join keyword and parsing only the column at its start, so whatever else lies before
     * that point — "OR b = c" after "a = d" included — is skipped and never counted. We skip it too
     * (also stopping at '(' and ';', where the official parser would fail).
     */
    private void skipLikeParseValue(int valueStart) {
        SqlLexer.Token first = tokens.get(valueStart);
        boolean column = first.type() == SqlLexer.Type.WORD && !RESERVED.contains(first.lower())
                && !(valueStart + 1 < tokens.size() && tokens.get(valueStart + 1).is("("));
        if (!column) return;
        while (at < tokens.size() && !VALUE_SCAN_STOPS.contains(tokens.get(at).lower())) at++;
    }

    /** 1 when the value is a subquery, which the hardness counts as nesting. */
    private int value() {
        return expr().subquery() != null ? 1 : 0;
    }

    private Expr expr() {
        Expr first = term();
        int aggregates = first.aggregateTerms();
        boolean compound = false;
        while (at < tokens.size() && tokens.get(at).type() == SqlLexer.Type.SYMBOL
                && ARITHMETIC.contains(tokens.get(at).text())) {
            at++;
            aggregates += term().aggregateTerms();
            compound = true;
        }
        return new Expr(first.startsWithAggregate(), aggregates, compound ? null : first.subquery());
    }

    private Expr term() {
        if (accept("-") || accept("+")) return term();
        SqlLexer.Token t = next();
        if (t.is("(")) {
            if (peek("select", 0)) {
                Query q = query();
                expect(")");
                return new Expr(false, 0, q);
            }
            Expr inner = expr();
            while (accept(",")) expr();
            expect(")");
            return new Expr(inner.startsWithAggregate(), inner.aggregateTerms(), null);
        }
        if (t.is("case")) {
            skipTo("end");
            return new Expr(false, 0, null);
        }
        if (t.type() == SqlLexer.Type.WORD && peek("(", 0)) {
            skipParenthesized();
            boolean aggregate = AGGREGATES.contains(t.lower());
            return new Expr(aggregate, aggregate ? 1 : 0, null);
        }
        boolean operand = t.type() == SqlLexer.Type.NUMBER || t.type() == SqlLexer.Type.QUOTED || t.is("*")
                || t.type() == SqlLexer.Type.WORD && !RESERVED.contains(t.lower());
        if (!operand) {
            at--;
            throw error("value expected at");
        }
        return new Expr(false, 0, null);
    }

    /** Function arguments and USING lists: their inside counts for nothing in the hardness. */
    private void skipParenthesized() {
        expect("(");
        int depth = 1;
        while (depth > 0) {
            SqlLexer.Token t = next();
            if (t.is("(")) depth++;
            else if (t.is(")")) depth--;
        }
    }

    private void skipTo(String word) {
        while (!next().is(word)) {
            // CASE … END: its branches count for nothing in the hardness
        }
    }

    private boolean peek(String word, int ahead) {
        return at + ahead < tokens.size() && tokens.get(at + ahead).is(word);
    }

    private boolean accept(String word) {
        if (!peek(word, 0)) return false;
        at++;
        return true;
    }

    private void expect(String word) {
        if (!accept(word)) throw error("'" + word + "' expected at");
    }

    private SqlLexer.Token next() {
        if (at >= tokens.size()) throw new IllegalArgumentException("unexpected end of query");
        return tokens.get(at++);
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(at < tokens.size()
                ? what + " '" + tokens.get(at).text() + "' (token " + at + ")"
                : what + " end of query");
    }
}
