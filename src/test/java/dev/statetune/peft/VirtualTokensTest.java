package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.GradCheck;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Prompt Tuning (virtual embeddings before the input) and Prefix-Tuning (virtual tokens before
 * each layer's mixer input): the training loss (virtual tokens prepended to every sequence)
 * equals the loss of the logits generation sees (virtual tokens read into the state first), and
 * the gradients of the virtual tokens match central differences.
 */
class VirtualTokensTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int[][] IDS = {{12, 400, 7, 88, 912, 3, 55}, {5, 6, 7, 8, 9, 10, 11}};
    static final int[][] LABELS = {{-100, -100, 7, 88, 912, 3, 55}, {-100, 6, 7, 8, 9, 10, -100}};

    @AfterAll
    static void close() { CPU.close(); }

    static MethodOptions virtualTokens(int m) {
        return new MethodOptions(8, 8, 0.1, MethodOptions.PAPER_LORA_TARGETS, m, false, 8);
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"PROMPT", "PREFIX"})
    void trainingLossEqualsTheLossOfGenerationsLogits(Method method) {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter.create(lm, List.of(method), virtualTokens(5)).attach(lm);
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

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"PROMPT", "PREFIX"})
    void virtualTokenGradientsMatchFiniteDifferences(Method method) {
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU)) {
            Adapter adapter = Adapter.create(lm, List.of(method), virtualTokens(3));
            adapter.attach(lm);
            lm.loss(IDS, LABELS, true);
            SplittableRandom pick = new SplittableRandom(4);
            List<Parameter> params = adapter.parameters();
            assertEquals(method == Method.PROMPT ? "prompt_embeddings" : "backbone.layers.0.mixer.prefix_tokens", params.get(0).name);
            for (int trial = 0; trial < 12; trial++) {
                Parameter p = params.get(trial % params.size());
                int i = pick.nextInt(p.value.length);
                double numeric = GradCheck.centralDifference(lm, p.value, i, 2e-2f, IDS, LABELS);
                assertEquals(numeric, p.grad[i], 2e-4 + 0.03 * Math.abs(numeric), p.name + "[" + i + "]");
            }
        }
    }
}
