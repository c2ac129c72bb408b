package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.GradCheck;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Prompt Tuning: the training loss (soft prompt prepended to every sequence) equals the loss of
 * the logits that generation sees (soft prompt read into the state first), and the gradient of
 * the virtual embeddings matches central differences.
 */
class PromptTuningTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55}, {5, 6, 7, 8, 9, 10, 11}};
    static final int[][] LABELS = {{-100, -100, 7, 88, 912, 3, 55}, {-100, 6, 7, 8, 9, 10, -100}};

    @AfterAll
    static void close() { CPU.close(); }

    static MethodOptions virtualTokens(int m) {
        return new MethodOptions(8, 8, 0.1, MethodOptions.PAPER_LORA_TARGETS, m, false, 8);
    }

    @Test
    void trainingLossEqualsTheLossOfGenerationsLogits() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter.create(lm, List.of(Method.PROMPT), virtualTokens(5)).attach(lm);
            float[] logits = lm.forward(IDS, lm.newState(2)).toFloatArray();
            int v = lm.config().vocabSize(), len = IDS[0].length;
            double sum = 0;
            int count = 0;
            for (int s = 0; s < 2; s++)
                for (int t = 0; t + 1 < len; t++) {
                    int target = LABELS[s][t + 1];
                    if (target < 0) continue;
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (int j = 0; j < v; j++) max = Math.max(max, logits[(s * len + t) * v + j]);
                    for (int j = 0; j < v; j++) z += Math.exp(logits[(s * len + t) * v + j] - max);
                    sum += Math.log(z) + max - logits[(s * len + t) * v + target];
                    count++;
                }
            LossResult r = lm.loss(IDS, LABELS, false);
            assertEquals(count, r.targets());
            assertEquals(sum / count, r.meanLoss(), 1e-5);
        }
    }

    @Test
    void promptGradientMatchesFiniteDifferences() {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter prompt = Adapter.create(lm, List.of(Method.PROMPT), virtualTokens(3));
            prompt.attach(lm);
            Parameter p = prompt.parameters().get(0);
            assertEquals("prompt_embeddings", p.name);
            lm.loss(IDS, LABELS, true);
            SplittableRandom pick = new SplittableRandom(4);
            for (int trial = 0; trial < 8; trial++) {
                int i = pick.nextInt(p.value.length);
                double numeric = GradCheck.centralDifference(lm, p.value, i, 2e-2f, IDS, LABELS);
                assertEquals(numeric, p.grad[i], 2e-4 + 0.03 * Math.abs(numeric), "prompt_embeddings[" + i + "]");
            }
        }
    }
}
