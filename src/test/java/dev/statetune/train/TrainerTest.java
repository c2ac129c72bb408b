package dev.statetune.train;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.data.Example;
import dev.statetune.data.LateSignalTask;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training loop on the built-in tiny model: every trainable method lowers the loss, a fixed
 * seed gives identical runs, a resumed run ends with the adapter of an uninterrupted one bit for
 * bit (also after a crash mid-checkpoint), and the base model's weights are never touched.
 */
class TrainerTest {
    static final CpuBackend CPU = new CpuBackend(2);
    @TempDir Path dir;

    @AfterAll
    static void close() { CPU.close(); }

    static MambaLM tiny() {
        return new MambaLM(Checkpoint.open(Fixtures.tinyModel()), CPU);
    }

    static List<Example> task(int count, long seed) {
        return LateSignalTask.examples(count, 12, 77, 1000, seed);
    }

    static Trainer.Options options(int steps, int saveEvery) {
        return new Trainer.Options("adamw", 1e-2, 0, "linear", 0, 1.0, 1, 4, 1, steps, 42, 0, saveEvery, false, 0);
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"STATE_OFFSET_H", "STATE_OFFSET_Y", "INITIAL_STATE", "PREFIX", "PROMPT", "LORA", "BITFIT", "FULL", "ADDITIONAL_SCAN"})
    void everyTrainableMethodLowersTheLoss(Method method) {
        try (MambaLM lm = tiny()) {
            List<Example> eval = task(16, 9);
            Adapter adapter = Adapter.create(lm, List.of(method), MethodOptions.defaults());
            adapter.attach(lm);
            double before = Trainer.evaluate(lm, eval, 8, 0).meanLoss();
            double lr = method == Method.PREFIX || method == Method.PROMPT ? 1e-1 : 1e-2;   // virtual tokens live at the embeddings' scale
            Trainer.train(lm, adapter, task(64, 1), List.of(),
                    new Trainer.Options("adamw", lr, 0, "linear", 0, 1.0, 1, 4, 1, 30, 42, 0, 0, false, 0), dir, false);
            double after = Trainer.evaluate(lm, eval, 8, 0).meanLoss();
            System.out.printf("%s: eval loss %.3f -> %.3f%n", method.cliName, before, after);
            assertTrue(after < 0.95 * before, method.cliName + ": " + before + " -> " + after);
        }
    }

    static float[][] values(Adapter a) {
        return a.parameters().stream().map(p -> p.value.clone()).toArray(float[][]::new);
    }

    @Test
    void sameSeedSameAdapterAndResumeEndsBitIdentical() throws IOException {
        try (MambaLM lm = tiny()) {
            List<Method> methods = List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y);
            Adapter straight = Adapter.create(lm, methods, MethodOptions.defaults());
            Trainer.train(lm, straight, task(40, 1), List.of(), options(12, 0), dir.resolve("straight"), false);

            Adapter again = Adapter.create(lm, methods, MethodOptions.defaults());
            Trainer.train(lm, again, task(40, 1), List.of(), options(12, 0), dir.resolve("again"), false);
            assertArrayEquals(values(straight), values(again), "a fixed seed gives identical runs");

            // killed after step 7 (last checkpoint at step 5), then resumed in a fresh process-like state
            Path run = dir.resolve("resumed");
            Adapter first = Adapter.create(lm, methods, MethodOptions.defaults());
            assertThrows(Killed.class, () -> Trainer.train(lm, first, task(40, 1), List.of(), options(12, 5), run, false,
                    step -> { if (step == 7) throw new Killed(); }));
            Adapter resumed = Adapter.create(lm, methods, MethodOptions.defaults());
            Trainer.Summary s = Trainer.train(lm, resumed, task(40, 1), List.of(), options(12, 0), run, true);
            assertEquals(12, s.steps());
            assertArrayEquals(values(straight), values(resumed), "resumed = uninterrupted, bit for bit");
            // and the adapter on disk is that final one
            Adapter onDisk = Adapter.load(run, lm);
            assertArrayEquals(values(straight), values(onDisk));
            List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
            assertEquals(12, metrics.size(), "one metrics line per step, steps 6 and 7 of the killed run not repeated");
            assertTrue(metrics.get(5).contains("\"step\":6"), metrics.get(5));
        }
    }

    @Test
    void aCrashWhileWritingTheCheckpointResumesFromTheLastGoodOne() throws IOException {
        try (MambaLM lm = tiny()) {
            List<Method> methods = List.of(Method.INITIAL_STATE);
            Adapter straight = Adapter.create(lm, methods, MethodOptions.defaults());
            Trainer.train(lm, straight, task(24, 1), List.of(), options(8, 0), dir.resolve("straight"), false);
            Path run = dir.resolve("crashed");
            Adapter first = Adapter.create(lm, methods, MethodOptions.defaults());
            assertThrows(Killed.class, () -> Trainer.train(lm, first, task(24, 1), List.of(), options(8, 3), run, false,
                    step -> { if (step == 6) throw new Killed(); }));
            // killed after its step-6 checkpoint while writing a later one: a temp directory with a truncated file is left
            Path torn = Files.createDirectories(run.resolve("checkpoint.tmp-crash"));
            Files.write(torn.resolve("params.safetensors"), new byte[] {1, 2, 3});
            Adapter resumed = Adapter.create(lm, methods, MethodOptions.defaults());
            Trainer.train(lm, resumed, task(24, 1), List.of(), options(8, 3), run, true);
            assertArrayEquals(values(straight), values(resumed));
        }
    }

    static final class Killed extends RuntimeException {}

    @Test
    void frozenWeightsAreUntouched() throws IOException {
        byte[] before = Files.readAllBytes(Fixtures.tinyModel().resolve("model.safetensors"));
        int[][] ids = {{5, 9, 300, 2}};
        try (MambaLM lm = tiny()) {
            float[] logitsBefore = lm.forward(ids, lm.newState(1)).toFloatArray();
            Adapter adapter = Adapter.create(lm, List.of(Method.STATE_OFFSET_H, Method.INITIAL_STATE), MethodOptions.defaults());
            Trainer.train(lm, adapter, task(16, 1), List.of(), options(5, 0), dir, false);
            assertTrue(adapter.parameters().stream().anyMatch(p -> p.value[0] != 0 || p.value[1] != 0), "the adapter did train");
            Adapter.create(lm, List.of(Method.STATE_OFFSET_H), MethodOptions.defaults()).attach(lm);
            assertArrayEquals(logitsBefore, lm.forward(ids, lm.newState(1)).toFloatArray(), "zero adapter = base model, bit for bit");
        }
        assertArrayEquals(before, Files.readAllBytes(Fixtures.tinyModel().resolve("model.safetensors")));
    }

    @Test
    void anAdapterForAnotherBaseModelFailsClearly() {
        try (MambaLM lm = tiny(); MambaLM other = new MambaLM(Checkpoint.open(Fixtures.resource("fixtures/mamba1/variant")), CPU)) {
            Adapter a = Adapter.create(lm, List.of(Method.STATE_OFFSET_Y), MethodOptions.defaults());
            a.save(dir);
            var e = assertThrows(dev.statetune.StatetuneException.class, () -> Adapter.load(dir, other));
            assertTrue(e.getMessage().contains("made for another base model"), e.getMessage());
            assertEquals(a.parameterCount(), Adapter.load(dir, lm).parameterCount());
        }
    }
}
