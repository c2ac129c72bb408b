package dev.statetune.cli;

import dev.statetune.StatetuneException;
import dev.statetune.data.Example;
import dev.statetune.data.JsonlDataset;
import dev.statetune.data.tasks.Task;
import dev.statetune.data.tasks.Tasks;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.tokenizer.Tokenizer;
import dev.statetune.train.PaperRecipe;
import dev.statetune.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** `statetune train`: fine-tune a checkpoint with one or several composed methods; writes an adapter directory. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an adapter (State-offset Tuning or another method) on JSONL data; the run directory gets "
                + "adapter_config.json, adapter_model.safetensors, metrics.jsonl and a resumable checkpoint/.")
final class TrainCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin MethodFlags methodFlags;

    @Option(names = "--method", required = true, split = ",", description = "state-offset-h, state-offset-y, initial-state, prefix, prompt, lora, bitfit, full, additional-scan (comma list to compose)")
    List<String> methods;
    @Option(names = "--data", required = true, paramLabel = "PATH", description = "training JSONL: {\"prompt\",\"completion\"} or "
            + "{\"input_ids\",\"labels\"} rows; with --task, the task's data directory (e.g. glue/RTE)")
    Path data;
    @Option(names = "--task", description = "a task of the paper (glue/rte, samsum, spider, dart, ...): its train split in the paper's "
            + "format, and the paper's learning rate, batch size and epochs unless given") String taskName;
    @Option(names = "--eval-data", paramLabel = "FILE", description = "evaluation JSONL (same formats; with --task: its evaluation split)") Path evalData;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "run directory") Path out;
    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the model directory's)") Path tokenizer;

    @Option(names = "--lr", description = "peak learning rate (default: the paper's for --task, else 2e-4)") Double lr;
    @Option(names = "--batch-size", description = "default: 4 (the paper's: 2 for initial-state above 1B parameters)") Integer batchSize;
    @Option(names = "--epochs", description = "default: 10 (the paper's: 3 for MNLI and QQP)") Integer epochs;
    @Option(names = "--max-steps", defaultValue = "0", description = "optimizer steps; overrides --epochs when > 0") int maxSteps;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw or sgd (default: ${DEFAULT-VALUE})") String optimizer;
    @Option(names = "--weight-decay", defaultValue = "0", description = "never applied to offsets, states, biases, norms") double weightDecay;
    @Option(names = "--schedule", defaultValue = "linear", description = "linear, cosine or constant (default: ${DEFAULT-VALUE})") String schedule;
    @Option(names = "--warmup-steps", defaultValue = "0") int warmupSteps;
    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "gradient-norm clipping, 0 = off (default: ${DEFAULT-VALUE})") double maxGradNorm;
    @Option(names = "--grad-accum", defaultValue = "1") int gradAccum;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--eval-every", defaultValue = "0", description = "evaluate every N steps (and at the end)") int evalEvery;
    @Option(names = "--save-every", defaultValue = "0", description = "checkpoint every N steps (always at the end)") int saveEvery;
    @Option(names = "--init-adapter", paramLabel = "DIR", description = "start from an existing adapter") Path initAdapter;
    @Option(names = "--resume", description = "continue the run in --out from its checkpoint") boolean resume;
    @Option(names = "--no-eos", description = "do not append eos to completions") boolean noEos;
    @Option(names = "--max-length", defaultValue = "0", description = "truncate examples to this many tokens (0 = no limit)") int maxLength;
    @Option(names = "--skip-bad-rows", description = "skip (and count) malformed JSONL rows instead of failing") boolean skipBadRows;
    @Option(names = "--group-by-length", description = "batch examples of similar length together") boolean groupByLength;

    @Override
    public Integer call() throws Exception {
        List<Method> chosen = methods.stream().map(Method::parse).toList();
        Tokenizer tok = Tokenizer.load(tokenizer != null ? tokenizer : model.modelDir().resolve("tokenizer.json"));
        Task task = taskName == null ? null : Tasks.byName(taskName);
        try (LanguageModel lm = model.load()) {
            int eos = lm.eosTokenId();
            List<Example> train, eval;
            if (task == null) {
                train = JsonlDataset.read(data, tok, eos, noEos, maxLength, skipBadRows);
                eval = evalData == null ? List.of() : JsonlDataset.read(evalData, tok, eos, noEos, maxLength, skipBadRows);
            } else {
                train = task.trainingExamples(task.read(data, "train", tok), tok, eos);
                eval = evalEvery > 0 ? task.trainingExamples(task.read(data, task.splits().get(1), tok), tok, eos) : List.of();
            }
            double learningRate = lr != null ? lr : task != null ? PaperRecipe.learningRate(task, chosen) : 2e-4;
            int batch = batchSize != null ? batchSize : task != null ? PaperRecipe.batchSize(chosen, lm.parameterCount()) : 4;
            int epochCount = epochs != null ? epochs : task != null ? PaperRecipe.epochs(task) : 10;
            Files.createDirectories(out);
            Adapter adapter = initAdapter != null ? Adapter.load(initAdapter, lm)
                    : Adapter.create(lm, chosen, methodFlags.options(lm instanceof Mamba2LM), seed);
            if (!adapter.methods().equals(chosen))
                throw new StatetuneException(initAdapter + ": holds " + adapter.methods() + ", --method asks for " + chosen);
            System.err.printf("train: %s on %s, %,d trainable parameters (%.3f%% of %,d), %d examples%n", methods, model.describe(),
                    adapter.parameterCount(), 100.0 * adapter.parameterCount() / lm.parameterCount(),
                    lm.parameterCount(), train.size());
            System.err.printf("recipe: lr %.1e, batch %d, %d epochs%s%n", learningRate, batch, epochCount,
                    task == null ? "" : " (the paper's for " + task.name() + " unless given)");
            Trainer.Summary s = Trainer.train(lm, adapter, train, eval, new Trainer.Options(optimizer, learningRate, weightDecay, schedule,
                    warmupSteps, maxGradNorm, gradAccum, batch, epochCount, maxSteps, seed, evalEvery, saveEvery, groupByLength, eos), out, resume);
            System.out.printf("steps %d, train loss %.4f%s, %.1f s, %.0f tokens/s; adapter in %s%n", s.steps(), s.trainLoss(),
                    Double.isNaN(s.evalLoss()) ? "" : String.format(", eval loss %.4f, eval token accuracy %.3f", s.evalLoss(), s.evalTokenAccuracy()),
                    s.seconds(), s.tokens() / s.seconds(), out);
        }
        return 0;
    }
}
