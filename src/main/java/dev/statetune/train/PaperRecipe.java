package dev.statetune.train;

import dev.statetune.StatetuneException;
import dev.statetune.data.tasks.Task;
import dev.statetune.peft.Method;

import java.util.List;
import java.util.Map;

/**
 * The training recipe of the paper's code for a task and method (PAPER_NOTES "Training recipe"):
 * the learning-rate table (mamba-130m for GLUE and DART, 1.4B for Spider and SAMSum), batch size 4
 * (2 for initial-state on a model of more than a billion parameters), 10 epochs (MNLI and QQP 3).
 * The paper gives no rate for prefix, prompt, bitfit, full, composed methods, STS-B or WNLI.
 */
public final class PaperRecipe {
    private static final List<Method> COLUMNS = List.of(Method.ADDITIONAL_SCAN, Method.INITIAL_STATE, Method.LORA,
            Method.STATE_OFFSET_Y, Method.STATE_OFFSET_H);
    private static final Map<String, double[]> LEARNING_RATES = Map.of(
            "glue/cola", new double[] {2e-3, 2e-3, 4e-5, 1e-3, 2e-4},
            "glue/mnli", new double[] {4e-3, 2e-3, 2e-3, 1e-3, 4e-4},
            "glue/mrpc", new double[] {2e-3, 1e-3, 2e-3, 2e-3, 2e-4},
            "glue/qnli", new double[] {2e-3, 2e-3, 1e-3, 2e-3, 1e-4},
            "glue/qqp", new double[] {4e-2, 2e-3, 1e-3, 1e-3, 4e-5},
            "glue/rte", new double[] {4e-3, 4e-4, 2e-3, 1e-3, 1e-3},
            "glue/sst2", new double[] {1e-1, 2e-3, 2e-3, 1e-3, 1e-4},
            "dart", new double[] {4e-3, 2e-3, 4e-3, 4e-3, 4e-4},
            "spider", new double[] {4e-3, 1e-3, 4e-3, 2e-3, 2e-4},
            "samsum", new double[] {4e-3, 2e-4, 2e-3, 1e-3, 1e-4});
    private static final long BILLION = 1_000_000_000L;

    private PaperRecipe() {}

    /** @throws StatetuneException when the paper has no rate for this task and method (pass --lr) */
    public static double learningRate(Task task, List<Method> methods) {
        double[] row = LEARNING_RATES.get(task.name());
        int column = methods.size() == 1 ? COLUMNS.indexOf(methods.getFirst()) : -1;
        if (row == null || column < 0)
            throw new StatetuneException("the paper gives no learning rate for " + methods.stream().map(m -> m.cliName).toList()
                    + " on " + task.name() + "; pass --lr");
        return row[column];
    }

    public static int epochs(Task task) {
        return task.name().equals("glue/mnli") || task.name().equals("glue/qqp") ? 3 : 10;
    }

    public static int batchSize(List<Method> methods, long modelParameters) {
        return methods.contains(Method.INITIAL_STATE) && modelParameters > BILLION ? 2 : 4;
    }
}
