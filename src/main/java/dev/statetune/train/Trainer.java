package dev.statetune.train;

import dev.statetune.Progress;
import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.data.Batch;
import dev.statetune.data.Batcher;
import dev.statetune.data.Example;
import dev.statetune.model.LanguageModel;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Parameter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The training loop of PAPER_NOTES.md's recipe: token-mean cross entropy over target tokens,
 * gradient accumulation, clipping, AdamW or SGD on fp32 master copies of the adapter, a learning
 * rate schedule; metrics.jsonl, a progress bar, evaluation and resumable checkpoints in the run
 * directory. Everything that decides the result is in the checkpoint, so a resumed run ends with
 * the adapter of an uninterrupted one, bit for bit.
 */
public final class Trainer {
    /** The run's hyperparameters (the CLI's flags). maxSteps > 0 overrides epochs. */
    public record Options(String optimizer, double lr, double weightDecay, String schedule, int warmupSteps,
                          double maxGradNorm, int gradAccum, int batchSize, int epochs, int maxSteps, long seed,
                          int evalEvery, int saveEvery, boolean groupByLength, int padId) {
        public Options {
            if (lr <= 0) throw new StatetuneException("--lr must be > 0");
            if (batchSize <= 0 || gradAccum <= 0) throw new StatetuneException("--batch-size and --grad-accum must be > 0");
            if (epochs <= 0 && maxSteps <= 0) throw new StatetuneException("give --epochs or --max-steps > 0");
        }
    }

    /** How the run ended. eval fields are NaN without eval data. */
    public record Summary(int steps, double trainLoss, double evalLoss, double evalTokenAccuracy, double seconds, long tokens) {}

    private Trainer() {}

    public static Summary train(LanguageModel lm, Adapter adapter, List<Example> train, List<Example> eval, Options o, Path runDir, boolean resume) {
        return train(lm, adapter, train, eval, o, runDir, resume, step -> {});
    }

    /** As above; afterStep(step) runs once each step is done and saved (a test stops a run there as a kill would). */
    public static Summary train(LanguageModel lm, Adapter adapter, List<Example> train, List<Example> eval, Options o, Path runDir,
                                boolean resume, IntConsumer afterStep) {
        if (train.isEmpty()) throw new StatetuneException("no training examples");
        List<Parameter> params = adapter.parameters();
        adapter.attach(lm);
        Batcher batcher = new Batcher(train, o.batchSize(), o.seed(), o.padId(), o.groupByLength());
        int totalSteps = o.maxSteps() > 0 ? o.maxSteps() : o.epochs() * Math.max(1, batcher.batchesPerEpoch() / o.gradAccum());
        Optimizer optimizer = switch (o.optimizer()) {
            case "adamw" -> new AdamW(o.weightDecay());
            case "sgd" -> new Sgd(o.weightDecay());
            default -> throw new StatetuneException("--optimizer must be adamw or sgd, not '" + o.optimizer() + "'");
        };
        Schedule schedule = Schedule.of(o.schedule(), o.lr(), o.warmupSteps(), totalSteps);
        int step = 0;
        if (resume) {
            TrainCheckpoint.Contents saved = TrainCheckpoint.load(runDir)
                    .orElseThrow(() -> new StatetuneException(runDir + ": no checkpoint to resume from"));
            saved.restore(params, optimizer);
            batcher.seek(saved.data());
            step = saved.step();
            System.err.printf("resuming %s at step %d of %d%n", runDir, step, totalSteps);
        }
        Backend backend = lm.backend();
        params.forEach(p -> p.keepResident(backend));   // on a GPU the training state stays there; the host arrays catch up before each save
        long tokens = 0;
        double loss = Double.NaN, evalLoss = Double.NaN, evalAccuracy = Double.NaN;
        long start = System.nanoTime();
        try (MetricsLog metrics = MetricsLog.open(runDir, step); Progress progress = new Progress("train", totalSteps, step);
             TrainingStep trainingStep = new TrainingStep(lm, params, optimizer, o.maxGradNorm())) {
            while (step < totalSteps) {
                long stepStart = System.nanoTime(), stepTokens = 0;
                List<TrainingStep.Micro> micro = new ArrayList<>();
                for (int k = 0; k < o.gradAccum(); k++) {
                    Batch batch = batcher.next();
                    long dropoutSeed = o.seed() * 1_000_003L + (long) step * o.gradAccum() + k;
                    micro.add(new TrainingStep.Micro(lm.tokens(batch.inputIds(), batch.labels()), dropoutSeed));
                    stepTokens += batch.tokens();
                }
                double lr = schedule.lr(step);
                TrainingStep.Result done = trainingStep.run(micro, lr);
                double gradNorm = done.gradNorm();
                step++;
                loss = done.loss();
                tokens += stepTokens;
                double tokensPerS = stepTokens / ((System.nanoTime() - stepStart) / 1e9);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("loss", loss);
                row.put("lr", lr);
                row.put("grad_norm", gradNorm);
                row.put("tokens_per_s", tokensPerS);
                row.put("epoch", batcher.state().epoch());
                if (!eval.isEmpty() && o.evalEvery() > 0 && (step % o.evalEvery() == 0 || step == totalSteps)) {
                    LossResult e = evaluate(lm, eval, o.batchSize(), o.padId());
                    evalLoss = e.meanLoss();
                    evalAccuracy = e.targets() == 0 ? Double.NaN : (double) e.correct() / e.targets();
                    row.put("eval_loss", evalLoss);
                    row.put("eval_token_accuracy", evalAccuracy);
                }
                metrics.log(step, row);
                progress.update(step, String.format(Locale.ROOT, "loss %.4f  lr %.2e  %,.0f tok/s", loss, lr, tokensPerS));
                if (step == totalSteps || (o.saveEvery() > 0 && step % o.saveEvery() == 0)) {
                    backend.writeBackResident();
                    TrainCheckpoint.save(runDir, TrainCheckpoint.Contents.of(step, params, optimizer, batcher.state(),
                            Map.of("seed", o.seed()), Map.of("methods", adapter.methods().toString())));
                    adapter.save(runDir);
                }
                afterStep.accept(step);
            }
        } finally {
            backend.dropResident();   // the host arrays are the adapter again
        }
        if (!eval.isEmpty() && Double.isNaN(evalLoss)) {
            LossResult e = evaluate(lm, eval, o.batchSize(), o.padId());
            evalLoss = e.meanLoss();
            evalAccuracy = e.targets() == 0 ? Double.NaN : (double) e.correct() / e.targets();
        }
        return new Summary(step, loss, evalLoss, evalAccuracy, (System.nanoTime() - start) / 1e9, tokens);
    }

    /** Loss and argmax accuracy over every target token of the examples, in order, without gradients. */
    public static LossResult evaluate(LanguageModel lm, List<Example> examples, int batchSize, int padId) {
        Batcher inOrder = Batcher.inOrder(examples, batchSize, padId);
        double lossSum = 0;
        int targets = 0, correct = 0;
        for (int b = 0; b < inOrder.batchesPerEpoch(); b++) {
            Batch batch = inOrder.next();
            LossResult r = lm.loss(batch.inputIds(), batch.labels(), false);
            lossSum += r.lossSum();
            targets += r.targets();
            correct += r.correct();
        }
        return new LossResult(lossSum, targets, correct);
    }
}
