package dev.statetune.eval;

import dev.statetune.Progress;
import dev.statetune.data.tasks.GlueTask;
import dev.statetune.data.tasks.Task;
import dev.statetune.data.tasks.TaskExample;
import dev.statetune.data.tasks.TaskSplit;
import dev.statetune.generate.BeamSearch;
import dev.statetune.generate.GreedySearch;
import dev.statetune.model.LanguageModel;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The paper's evaluation of one task split (PAPER_NOTES "Data formats"): GLUE by teacher-forced
 * label scoring, the generation tasks by beam search (or greedy) over the recurrent state, then the
 * task's metric set ({@link GlueMetrics}, {@link TaskMetrics}). Predictions can also come from a
 * file and be scored without a model.
 */
public final class TaskEvaluation {
    /** How generation tasks decode: 1 beam is greedy; prompts go through decoding batchSize at a time. */
    public record Decoding(int numBeams, double lengthPenalty, int maxNewTokens, int batchSize) {}

    private TaskEvaluation() {}

    /** Runs the model over the split and scores what it predicts. */
    public static TaskMetrics.Report run(LanguageModel model, Tokenizer tok, Task task, TaskSplit split, Decoding decoding, Path dataDir) {
        List<int[]> prompts = split.examples().stream().map(ex -> tok.encode(ex.prompt())).toList();
        int eos = model.eosTokenId();
        List<String> predictions = new ArrayList<>(prompts.size());
        long start = System.nanoTime();
        try (Progress progress = new Progress("eval " + task.name(), prompts.size(), 0)) {
            if (task instanceof GlueTask) {
                int[] tokens = LabelScoring.argmaxAfter(model, prompts, decoding.batchSize(), eos,
                        done -> progress.update(done, rate(done, 0, start)));
                for (int t : tokens) predictions.add(tok.decode(new int[] {t}));
            } else {
                long generated = 0;
                for (int from = 0; from < prompts.size(); from += decoding.batchSize()) {
                    List<int[]> chunk = prompts.subList(from, Math.min(prompts.size(), from + decoding.batchSize()));
                    for (int[] tokens : decode(model, chunk, decoding, eos)) {
                        generated += tokens.length;
                        predictions.add(text(tok, tokens, eos));
                    }
                    progress.update(predictions.size(), rate(predictions.size(), generated, start));
                }
            }
        }
        return TaskMetrics.score(task, split, predictions, dataDir);
    }

    private static List<int[]> decode(LanguageModel model, List<int[]> prompts, Decoding d, int eos) {
        if (d.numBeams() == 1) return GreedySearch.search(model, prompts, d.maxNewTokens(), eos);
        return BeamSearch.search(model, prompts, new BeamSearch.Options(d.numBeams(), d.lengthPenalty(), d.maxNewTokens(), eos))
                .stream().map(BeamSearch.Hypothesis::tokens).toList();
    }

    /** The generated text without the eos that ends it, trimmed. */
    private static String text(Tokenizer tok, int[] tokens, int eos) {
        int n = tokens.length > 0 && tokens[tokens.length - 1] == eos ? tokens.length - 1 : tokens.length;
        return tok.decode(java.util.Arrays.copyOf(tokens, n), true).strip();
    }

    private static String rate(int examples, long tokens, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return tokens == 0 ? String.format(Locale.ROOT, "%.1f examples/s", examples / seconds)
                : String.format(Locale.ROOT, "%.2f examples/s  %.1f generated tok/s", examples / seconds, tokens / seconds);
    }
}
