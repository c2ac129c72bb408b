package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.statetune.StatetuneException;
import dev.statetune.data.tasks.Task;
import dev.statetune.data.tasks.TaskExample;
import dev.statetune.data.tasks.TaskSplit;
import dev.statetune.data.tasks.Tasks;
import dev.statetune.eval.PredictionsFile;
import dev.statetune.eval.TaskEvaluation;
import dev.statetune.eval.TaskMetrics;
import dev.statetune.model.LanguageModel;
import dev.statetune.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** `statetune eval`: the paper's protocol for one task split, or the scoring of a file of predictions. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a model (with an adapter) on a task of the paper with the paper's metrics: GLUE by "
                + "teacher-forced label scoring, SAMSum/DART/Spider by beam search (5 beams, length penalty 1).",
                "Without --model but with --predictions FILE, scores that file instead (JSONL with a \"prediction\" "
                + "field per row, or one prediction per line, e.g. Spider SQL). Metrics go to stdout; progress to stderr."})
final class EvalCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin AdapterOption adapter;

    @Option(names = "--task", required = true, description = "glue/cola, glue/sst2, glue/mrpc, glue/qqp, glue/stsb, glue/mnli, "
            + "glue/qnli, glue/rte, glue/wnli, samsum, spider, dart") String taskName;
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "the task's data directory (e.g. glue/RTE, spider)") Path data;
    @Option(names = "--split", description = "default: the first evaluation split (dev, dev_matched, validation)") String split;
    @Option(names = "--limit", defaultValue = "0", description = "evaluate the first N examples only (0 = all)") int limit;
    @Option(names = "--num-beams", defaultValue = "5", description = "beams for generation tasks, 1 = greedy (default: ${DEFAULT-VALUE})") int numBeams;
    @Option(names = "--length-penalty", defaultValue = "1", description = "beam score = log-prob sum / length^this (default: ${DEFAULT-VALUE})") double lengthPenalty;
    @Option(names = "--max-new-tokens", defaultValue = "1024", description = "default: ${DEFAULT-VALUE}") int maxNewTokens;
    @Option(names = "--batch-size", defaultValue = "8", description = "prompts run together (default: ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--predictions", paramLabel = "FILE", description = "with a model: write per-example predictions (JSONL); without: the file to score") Path predictions;
    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the model directory's)") Path tokenizer;
    @Option(names = "--json", description = "print the metrics as one JSON object") boolean json;

    @Override
    public Integer call() throws Exception {
        if (limit < 0 || numBeams < 1 || maxNewTokens < 1 || batchSize < 1)
            throw new StatetuneException("--limit must be ≥ 0; --num-beams, --max-new-tokens and --batch-size ≥ 1");
        Task task = Tasks.byName(taskName);
        String splitName = split != null ? split : task.splits().get(1);
        task.requireSplit(splitName);
        boolean scoreFile = model.dir.model == null && predictions != null;
        Tokenizer tok = tokenizer != null ? Tokenizer.load(tokenizer) : scoreFile ? null : Tokenizer.load(model.modelDir().resolve("tokenizer.json"));
        TaskSplit examples = limited(task.read(data, splitName, tok));
        TaskMetrics.Report report;
        if (scoreFile) {
            if (!java.nio.file.Files.exists(predictions))
                throw new StatetuneException(predictions + ": not found (without --model, eval scores the --predictions file; pass --model to run a model)");
            List<String> lines = PredictionsFile.read(predictions);
            if (limit > 0 && lines.size() > examples.examples().size()) lines = lines.subList(0, examples.examples().size());
            report = TaskMetrics.score(task, examples, lines, data);
        } else {
            try (LanguageModel lm = adapter.apply(model.load())) {
                System.err.printf("eval: %s %s, %d examples, %s%s, %s%n", task.name(), splitName, examples.examples().size(),
                        model.describe(), adapter.adapter == null ? "" : " + " + adapter.adapter, lm.backend().name());
                report = TaskEvaluation.run(lm, tok, task, examples,
                        new TaskEvaluation.Decoding(numBeams, lengthPenalty, maxNewTokens, batchSize), data);
            }
            if (predictions != null) PredictionsFile.write(predictions, report.rows());
        }
        print(report, splitName);
        return 0;
    }

    private TaskSplit limited(TaskSplit s) {
        if (limit == 0 || limit >= s.examples().size()) return s;
        List<TaskExample> first = s.examples().subList(0, limit);
        return new TaskSplit(first, s.droppedTooLong());
    }

    private void print(TaskMetrics.Report report, String splitName) throws Exception {
        if (json) {
            Map<String, Object> metrics = new LinkedHashMap<>();
            report.metrics().forEach((k, v) -> metrics.put(k, v.isNaN() ? null : TaskMetrics.COUNTS.contains(k) ? (Object) v.longValue() : v));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("task", report.task());
            out.put("split", splitName);
            out.put("metrics", metrics);
            System.out.println(new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            return;
        }
        System.out.printf("%s %s%n", report.task(), splitName);
        report.metrics().forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-20s %s%n", k,
                v.isNaN() ? "n/a" : String.format(Locale.ROOT, TaskMetrics.COUNTS.contains(k) ? "%.0f" : "%.2f", v)));
    }
}
