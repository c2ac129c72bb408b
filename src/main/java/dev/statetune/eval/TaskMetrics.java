package dev.statetune.eval;

import dev.statetune.StatetuneException;
import dev.statetune.data.tasks.DartTask;
import dev.statetune.data.tasks.GlueTask;
import dev.statetune.data.tasks.SamsumTask;
import dev.statetune.data.tasks.SpiderTask;
import dev.statetune.data.tasks.Task;
import dev.statetune.data.tasks.TaskExample;
import dev.statetune.data.tasks.TaskSplit;
import dev.statetune.eval.spider.SpiderEvaluation;
import dev.statetune.eval.spider.SpiderExample;
import dev.statetune.eval.spider.SpiderHardness;
import dev.statetune.eval.spider.SqlExecutor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A task's metric set over predicted texts, one per example of the split (PAPER_NOTES "Data
 * formats"): GLUE's by {@link GlueMetrics} (a prediction is a class when it is the label digit);
 * SAMSum ROUGE-1/2/L/Lsum (rouge_score with the Porter stemmer); DART corpus BLEU against all of an
 * example's references; Spider execution accuracy on the SQLite databases, overall and by hardness.
 */
public final class TaskMetrics {
    /**
     * @param metrics percentages (and counts) in the order they are reported
     * @param rows    one per example, for a predictions JSONL file
     */
    public record Report(String task, Map<String, Double> metrics, List<Map<String, Object>> rows) {}

    /** The metrics that are counts, not percentages. */
    public static final Set<String> COUNTS = Set.of("examples", "out_of_class", "dropped_too_long");

    private TaskMetrics() {}

    /** @param dataDir the task's data directory (Spider's databases are under database/) */
    public static Report score(Task task, TaskSplit split, List<String> predictions, Path dataDir) {
        List<TaskExample> examples = split.examples();
        if (predictions.size() != examples.size())
            throw new StatetuneException(predictions.size() + " predictions for the " + examples.size() + " examples of " + task.name());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("index", i);
            row.put("prediction", predictions.get(i));
            rows.add(row);
        }
        Map<String, Double> metrics = switch (task) {
            case GlueTask glue -> glue(glue, examples, predictions, rows);
            case SamsumTask s -> samsum(examples, predictions, rows);
            case DartTask d -> dart(examples, predictions, rows);
            case SpiderTask s -> spider(examples, predictions, rows, dataDir);
        };
        if (split.droppedTooLong() > 0) metrics.put("dropped_too_long", (double) split.droppedTooLong());
        return new Report(task.name(), metrics, rows);
    }

    private static Map<String, Double> glue(GlueTask task, List<TaskExample> examples, List<String> predictions, List<Map<String, Object>> rows) {
        int n = examples.size();
        int[] gold = new int[n], predicted = new int[n];
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) {
            TaskExample ex = examples.get(i);
            gold[i] = ex.label();
            scores[i] = ex.score();
            predicted[i] = classOf(predictions.get(i), task.labelNames().size());
            Map<String, Object> row = rows.get(i);
            row.put("label", gold[i]);
            if (task == GlueTask.STSB) row.put("score", scores[i]);
            row.put("predicted_label", predicted[i] == GlueMetrics.OUT_OF_CLASS ? null : predicted[i]);
            row.put("correct", predicted[i] == gold[i]);
        }
        return GlueMetrics.compute(task, gold, scores, predicted);
    }

    /** The class id a predicted label token stands for, or OUT_OF_CLASS. */
    private static int classOf(String prediction, int classes) {
        for (int label = 0; label < classes; label++) if (prediction.equals(Integer.toString(label))) return label;
        return GlueMetrics.OUT_OF_CLASS;
    }

    private static Map<String, Double> samsum(List<TaskExample> examples, List<String> predictions, List<Map<String, Object>> rows) {
        List<String> targets = examples.stream().map(TaskExample::target).toList();
        for (int i = 0; i < rows.size(); i++) rows.get(i).put("reference", targets.get(i));
        Rouge.Corpus r = new Rouge(true).corpus(targets, predictions);
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("rouge1", r.rouge1());
        m.put("rouge2", r.rouge2());
        m.put("rougeL", r.rougeL());
        m.put("rougeLsum", r.rougeLsum());
        m.put("examples", (double) r.examples());
        return m;
    }

    private static Map<String, Double> dart(List<TaskExample> examples, List<String> predictions, List<Map<String, Object>> rows) {
        int streams = examples.stream().mapToInt(ex -> ex.references().size()).max().orElse(1);
        List<List<String>> references = new ArrayList<>();
        for (int j = 0; j < streams; j++) {
            List<String> stream = new ArrayList<>();
            for (TaskExample ex : examples) stream.add(j < ex.references().size() ? ex.references().get(j) : "");
            references.add(stream);
        }
        for (int i = 0; i < rows.size(); i++) rows.get(i).put("references", examples.get(i).references());
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("bleu", Bleu.corpus(predictions, references).score());
        m.put("examples", (double) examples.size());
        return m;
    }

    private static Map<String, Double> spider(List<TaskExample> examples, List<String> predictions, List<Map<String, Object>> rows, Path dataDir) {
        List<SpiderExample> gold = examples.stream().map(ex -> new SpiderExample(ex.dbId(), "", ex.goldSql())).toList();
        SpiderEvaluation.Report report;
        try (SqlExecutor executor = new SqlExecutor(dataDir.resolve("database"))) {
            report = new SpiderEvaluation(executor, false).evaluate(gold, predictions);
        }
        for (SpiderEvaluation.ExampleScore s : report.examples()) {
            Map<String, Object> row = rows.get(s.index());
            row.put("db_id", s.dbId());
            row.put("gold", gold.get(s.index()).query());
            row.put("hardness", s.hardness().label());
            row.put("outcome", s.outcome());
            row.put("correct", s.correct());
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("execution_accuracy", 100 * report.all().accuracy());
        for (SpiderHardness h : SpiderHardness.values()) {
            SpiderEvaluation.Tally t = report.levels().get(h);
            m.put(h.label(), t.count() == 0 ? Double.NaN : 100 * t.accuracy());
        }
        m.put("examples", (double) examples.size());
        return m;
    }
}
