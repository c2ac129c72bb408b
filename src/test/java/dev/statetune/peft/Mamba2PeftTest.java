package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.StatetuneException;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.data.Example;
import dev.statetune.data.LateSignalTask;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.tensor.Tensor;
import dev.statetune.train.Trainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The methods on the Mamba-2 tiny fixture (PAPER_NOTES.md, Mamba-2 analogue): a fresh adapter
 * leaves the logits bit-identical, its size is Method.parameterCount's, every method lowers the loss
 * of the late-signal task, a trained adapter steps as it runs whole sequences and survives a save and
 * load; the methods without a Mamba-2 form are refused with one line.
 */
class Mamba2PeftTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final MethodOptions OPTIONS = MethodOptions.defaults().withLoraTargets(MethodOptions.MAMBA2_LORA_TARGETS);
    static final int[][] IDS = {{3, 141, 59, 26, 535, 89, 79, 323, 846, 17, 4, 44, 9}, {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}};
    @TempDir Path dir;

    @AfterAll
    static void close() { CPU.close(); }

    static Mamba2LM tiny() {
        return new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny")), CPU);
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"STATE_OFFSET_H", "STATE_OFFSET_Y", "INITIAL_STATE", "LORA", "BITFIT", "FULL"})   // a soft prompt is never neutral
    void aFreshAdapterLeavesTheLogitsBitIdenticalAndHasTheCountedSize(Method method) {
        try (Mamba2LM lm = tiny()) {
            float[] plain = lm.forward(IDS, lm.newState(IDS.length)).toFloatArray();
            Adapter adapter = Adapter.create(lm, List.of(method), OPTIONS);
            adapter.attach(lm);
            assertArrayEquals(plain, lm.forward(IDS, lm.newState(IDS.length)).toFloatArray(), method.cliName);
            assertEquals(method.parameterCount(lm.config(), OPTIONS), adapter.parameterCount(), method.cliName);
        }
    }

    @Test
    void parameterCountsFollowTheShapes() {
        try (Mamba2LM lm = tiny()) {   // 3 layers, 8 heads × 16, 2 groups, n 16, d 64, in_proj 64 → 128 + 192 + 8
            var c = lm.config();
            assertEquals(3L * 8 * 16 * 16, Method.STATE_OFFSET_H.parameterCount(c, OPTIONS));
            assertEquals(3L * 8 * 16, Method.STATE_OFFSET_Y.parameterCount(c, OPTIONS));
            assertEquals(3L * 8 * (64 + 328 + 128 + 64), Method.LORA.parameterCount(c, OPTIONS));
            assertEquals(3L * 8, Method.BITFIT.parameterCount(c, OPTIONS));   // no conv or projection biases: dt_bias only
            assertEquals(154568, Method.FULL.parameterCount(c, OPTIONS));
        }
    }

    /**
     * 30 AdamW steps. The fixture's weights are small (initializer_range 0.1), so states, offsets and
     * dt_bias take larger steps. An initial state's influence decays with the context (PAPER_NOTES.md),
     * here within a few tokens, so it gets a 2-token context; BitFit has only dt_bias (24 values) on
     * this fixture, so it must lower the loss by 1% rather than 5%.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"STATE_OFFSET_H, 12, 3e-1, 0.95", "STATE_OFFSET_Y, 12, 3e-1, 0.95", "INITIAL_STATE, 2, 3e-1, 0.95",
            "LORA, 12, 1e-2, 0.95", "BITFIT, 12, 1, 0.99", "FULL, 12, 1e-2, 0.95", "PROMPT, 2, 3e-2, 0.95",
            "PREFIX, 2, 3e-2, 0.95"})
    void everyMethodLowersTheLossOfTheLateSignalTask(Method method, int context, double lr, double ratio) {
        try (Mamba2LM lm = tiny()) {
            List<Example> eval = LateSignalTask.examples(16, context, 77, 1000, 9);
            Adapter adapter = Adapter.create(lm, List.of(method), OPTIONS);
            adapter.attach(lm);
            double before = Trainer.evaluate(lm, eval, 8, 0).meanLoss();
            Trainer.train(lm, adapter, LateSignalTask.examples(64, context, 77, 1000, 1), List.of(),
                    new Trainer.Options("adamw", lr, 0, "linear", 0, 1.0, 1, 4, 1, 30, 42, 0, 0, false, 0), dir, false);
            double after = Trainer.evaluate(lm, eval, 8, 0).meanLoss();
            System.out.printf("mamba2 %s: eval loss %.3f -> %.3f%n", method.cliName, before, after);
            assertTrue(after < ratio * before, method.cliName + ": " + before + " -> " + after);
        }
    }

    @Test
    void aTrainedAdapterStepsAsItRunsWholeSequencesAndSurvivesSaveAndLoad() {
        List<Method> methods = List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.INITIAL_STATE, Method.LORA);
        try (Mamba2LM lm = tiny()) {
            Adapter adapter = Adapter.create(lm, methods, OPTIONS);
            SplittableRandom rnd = new SplittableRandom(3);
            for (Parameter p : adapter.parameters())
                for (int i = 0; i < p.value.length; i++) p.value[i] += (float) (0.2 * (rnd.nextDouble() * 2 - 1));
            adapter.attach(lm);
            float[] whole = lm.forward(IDS, lm.newState(IDS.length)).toFloatArray();
            float[] plainWhole;
            DecodeState state = lm.newState(IDS.length);
            float[] stepped = Fixtures.stepwiseLogits(IDS, lm.vocabSize(), column -> lm.step(column, state).toFloatArray());
            Fixtures.assertClose(whole, stepped, 1e-5, 1e-5, "step vs whole sequence with every seam");
            adapter.save(dir);
            try (Mamba2LM other = tiny()) {
                plainWhole = other.forward(IDS, other.newState(IDS.length)).toFloatArray();
                Adapter.load(dir, other).attach(other);
                assertArrayEquals(whole, other.forward(IDS, other.newState(IDS.length)).toFloatArray(), "loaded adapter");
            }
            assertFalse(java.util.Arrays.equals(whole, plainWhole), "the adapter changes the logits");
        }
    }

    @Test
    void aMergedLoraAndBitFitCheckpointGivesTheAdaptedLogits() throws Exception {
        try (Mamba2LM lm = tiny()) {
            Adapter adapter = Adapter.create(lm, List.of(Method.LORA, Method.BITFIT), OPTIONS);
            SplittableRandom rnd = new SplittableRandom(8);
            for (Parameter p : adapter.parameters())
                for (int i = 0; i < p.value.length; i++) p.value[i] += (float) rnd.nextDouble(-0.05, 0.05);
            adapter.save(dir.resolve("adapter"));
            adapter.attach(lm);
            float[] unmerged = lm.forward(IDS, lm.newState(IDS.length)).toFloatArray();
            var r = dev.statetune.cli.CliRunner.run("merge", "--model", Fixtures.resource("fixtures/mamba2/tiny").toString(),
                    "--adapter", dir.resolve("adapter").toString(), "--out", dir.resolve("merged").toString());
            assertEquals(0, r.code(), r.err());
            try (Mamba2LM merged = new Mamba2LM(Checkpoint.open(dir.resolve("merged")), CPU)) {
                assertEquals(lm.config(), merged.config(), "the written config.json reads back as the base's");
                Fixtures.assertClose(unmerged, merged.forward(IDS, merged.newState(IDS.length)).toFloatArray(), 1e-5, 1e-5, "merged vs unmerged");
            }
        }
    }

    @Test
    void methodsWithoutAMamba2FormAreRefusedWithOneLine() {
        try (Mamba2LM lm = tiny()) {
            for (Method m : new Method[] {Method.ADDITIONAL_SCAN}) {
                var e = assertThrows(StatetuneException.class, () -> Adapter.create(lm, List.of(m), OPTIONS));
                assertTrue(e.getMessage().contains("not available for Mamba-2"), e.getMessage());
            }
            var lora = assertThrows(StatetuneException.class, () -> Adapter.create(lm, List.of(Method.LORA), MethodOptions.defaults()));
            assertTrue(lora.getMessage().contains("in_proj,out_proj"), lora.getMessage());
        }
    }

    /**
     * Prompt Tuning: a soft prompt that holds the embeddings of tokens P acts exactly as P written
     * before every sequence (logits, loss), through the recurrent step too, and its gradient is the
     * loss's (central differences).
     */
    @Test
    void aSoftPromptOfTokenEmbeddingsActsAsThoseTokens() {
        int[] p = {7, 300, 42};
        try (Mamba2LM lm = tiny()) {
            Tensor table = lm.storedWeight("backbone.embeddings.weight");
            int d = (int) table.size(1), b = IDS.length, len = IDS[0].length, m = p.length;
            float[] v = new float[m * d];
            for (int r = 0; r < m; r++) for (int c = 0; c < d; c++) v[r * d + c] = table.getFloat((long) p[r] * d + c);
            // Labels: -100 on the first real token too, which nothing before it predicts when the prompt is soft.
            int[][] written = new int[b][], writtenLabels = new int[b][], labels = new int[b][];
            for (int s = 0; s < b; s++) {
                written[s] = java.util.stream.IntStream.concat(java.util.Arrays.stream(p), java.util.Arrays.stream(IDS[s])).toArray();
                writtenLabels[s] = written[s].clone();
                java.util.Arrays.fill(writtenLabels[s], 0, m + 1, -100);
                labels[s] = IDS[s].clone();
                labels[s][0] = -100;
            }
            float[] full = lm.forward(written, lm.newState(b)).toFloatArray();
            double writtenLoss = lm.loss(written, writtenLabels, false).meanLoss();
            Tensor grad = Tensor.zeros(m, d);
            lm.setSoftPrompt(Tensor.of(v, m, d), grad);
            float[] prompted = lm.forward(IDS, lm.newState(b)).toFloatArray();
            int vocab = lm.vocabSize();
            float[] expected = new float[b * len * vocab];
            for (int s = 0; s < b; s++)
                System.arraycopy(full, (s * (m + len) + m) * vocab, expected, s * len * vocab, len * vocab);
            Fixtures.assertClose(expected, prompted, 1e-5, 1e-5, "logits after a soft prompt vs after its tokens");
            DecodeState state = lm.newState(b);
            Fixtures.assertClose(prompted, Fixtures.stepwiseLogits(IDS, vocab, column -> lm.step(column, state).toFloatArray()), 1e-5, 1e-5,
                    "step vs whole sequence after a soft prompt");
            double loss = lm.loss(IDS, labels, true).meanLoss();
            assertEquals(writtenLoss, loss, 1e-6 * writtenLoss, "loss after a soft prompt vs after its tokens");
            for (int at : new int[] {5, d + 17, 2 * d + 60}) {   // central differences on three entries
                float keep = v[at];
                double eps = 1e-2;
                v[at] = (float) (keep + eps);
                double up = lm.loss(IDS, labels, false).meanLoss();
                v[at] = (float) (keep - eps);
                double down = lm.loss(IDS, labels, false).meanLoss();
                v[at] = keep;
                double numeric = (up - down) / (2 * eps);
                assertEquals(numeric, grad.getFloat(at), 2e-3 + 2e-2 * Math.abs(numeric), "d loss / d prompt[" + at + "]");
            }
        }
    }

    /**
     * Prefix-Tuning: each mixer reads its virtual tokens before every sequence, so the recurrent step
     * after newState equals the whole-sequence forward, and the prefix's gradient is the loss's
     * (central differences on entries of two layers).
     */
    @Test
    void aPrefixStepsAsItRunsWholeSequencesAndGetsTheLossGradient() {
        try (Mamba2LM lm = tiny()) {
            MethodOptions three = new MethodOptions(8, 8, 0.1, OPTIONS.loraTargets(), 3, false, 8);   // 3 virtual tokens a layer
            Adapter adapter = Adapter.create(lm, List.of(Method.PREFIX), three);
            assertEquals(3L * 3 * 64, Method.PREFIX.parameterCount(lm.config(), three));   // 3 layers × 3 tokens × d 64
            assertEquals(3L * 3 * 64, adapter.parameterCount());
            SplittableRandom rnd = new SplittableRandom(5);
            for (Parameter p : adapter.parameters())
                for (int i = 0; i < p.value.length; i++) p.value[i] = (float) (rnd.nextDouble() * 2 - 1);
            adapter.attach(lm);
            int vocab = lm.vocabSize();
            float[] whole = lm.forward(IDS, lm.newState(IDS.length)).toFloatArray();
            DecodeState state = lm.newState(IDS.length);
            Fixtures.assertClose(whole, Fixtures.stepwiseLogits(IDS, vocab, column -> lm.step(column, state).toFloatArray()), 1e-5, 1e-5,
                    "step vs whole sequence with a prefix");
            adapter.parameters().forEach(p -> p.zeroGrad(lm.backend()));
            lm.loss(IDS, IDS, true);
            for (Parameter p : List.of(adapter.parameters().getFirst(), adapter.parameters().getLast()))
                for (int at : new int[] {3, p.value.length - 7}) {
                    float keep = p.value[at];
                    double eps = 1e-2;
                    p.value[at] = (float) (keep + eps);
                    double up = lm.loss(IDS, IDS, false).meanLoss();
                    p.value[at] = (float) (keep - eps);
                    double down = lm.loss(IDS, IDS, false).meanLoss();
                    p.value[at] = keep;
                    double numeric = (up - down) / (2 * eps);
                    assertEquals(numeric, p.grad[at], 2e-3 + 2e-2 * Math.abs(numeric), p.name + "[" + at + "]");
                }
        }
    }
}
