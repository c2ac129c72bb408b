package dev.statetune.eval.spider;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Spider execution accuracy, overall and per hardness level, as test-suite-sql-eval's evaluation.py
 * reports it with --etype exec: both queries rewritten as its exec_eval does (see SpiderQueryText),
 * run on the example's database, compared with {@link ExecutionMatch}, ordered when the gold query has
 * ORDER BY. A prediction that fails, is refused, runs out of time or returns too many rows is wrong and
 * the evaluation goes on. The official script asserts that every gold query runs; here a gold query
 * that does not is scored wrong and its outcome says so. Gold SQL the hardness parser cannot read throws.
 */
public final class SpiderEvaluation {
    private final SqlExecutor executor;
    private final boolean keepDistinct;

    /** {@code keepDistinct = false} is the official default. */
    public SpiderEvaluation(SqlExecutor executor, boolean keepDistinct) {
        this.executor = executor;
        this.keepDistinct = keepDistinct;
    }

    /**
     * One example's score. {@code outcome}: match, mismatch, the predicted query's result kind (error,
     * timeout, too_many_rows, rejected) when it produced no rows, or gold_ plus the gold query's kind.
     */
    public record ExampleScore(int index, String dbId, SpiderHardness hardness, boolean correct, String outcome) {}

    public record Tally(int count, int correct) {
        public double accuracy() {
            return count == 0 ? 0 : (double) correct / count;
        }

        Tally plus(boolean isCorrect) {
            return new Tally(count + 1, correct + (isCorrect ? 1 : 0));
        }
    }

    /** {@code levels} has all four levels, with zero counts where the examples have none. */
    public record Report(Tally all, Map<SpiderHardness, Tally> levels, List<ExampleScore> examples) {}

    public Report evaluate(List<SpiderExample> examples, List<String> predictions) {
        if (examples.size() != predictions.size()) {
            throw new IllegalArgumentException(examples.size() + " examples but " + predictions.size() + " predictions");
        }
        Tally all = new Tally(0, 0);
        Map<SpiderHardness, Tally> levels = new EnumMap<>(SpiderHardness.class);
        for (SpiderHardness h : SpiderHardness.values()) levels.put(h, new Tally(0, 0));
        List<ExampleScore> scores = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            SpiderExample example = examples.get(i);
            SpiderHardness hardness;
            try {
                hardness = SpiderHardness.of(example.query());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("gold query " + i + " (" + example.dbId() + "): " + e.getMessage(), e);
            }
            String outcome = outcome(example, predictions.get(i));
            boolean correct = outcome.equals("match");
            scores.add(new ExampleScore(i, example.dbId(), hardness, correct, outcome));
            all = all.plus(correct);
            levels.put(hardness, levels.get(hardness).plus(correct));
        }
        return new Report(all, Collections.unmodifiableMap(levels), List.copyOf(scores));
    }

    private String outcome(SpiderExample example, String prediction) {
        String gold = SpiderQueryText.prepare(example.query(), keepDistinct);
        QueryResult goldResult = executor.execute(example.dbId(), gold);
        if (!(goldResult instanceof QueryResult.Rows goldRows)) return "gold_" + goldResult.kind();
        QueryResult predicted = executor.execute(example.dbId(), SpiderQueryText.prepare(prediction == null ? "" : prediction, keepDistinct));
        if (!(predicted instanceof QueryResult.Rows predictedRows)) return predicted.kind();
        return ExecutionMatch.matches(goldRows, predictedRows, ExecutionMatch.orderMatters(example.query())) ? "match" : "mismatch";
    }
}
