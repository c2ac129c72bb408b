package dev.statetune.train;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.peft.Parameter;
import dev.statetune.StatetuneException;
import dev.statetune.data.Batcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Checkpoints: a round trip that resumes bit for bit, and crashes at every stage of a save (with a
 * half-written temp directory left behind) that still load the previous checkpoint.
 */
class TrainCheckpointTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    @TempDir Path run;

    private static List<Parameter> params() {
        return List.of(new Parameter("backbone.layers.0.mixer.state_offset", new float[] {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f}, false, 2, 3),
                new Parameter("backbone.layers.0.mixer.lora_A", new float[] {1f, 2f}, true, 1, 2));
    }

    private static void train(List<Parameter> ps, Optimizer opt, int fromStep, int steps) {
        for (int t = fromStep; t < fromStep + steps; t++) {
            for (Parameter p : ps)
                for (int i = 0; i < p.grad.length; i++) p.grad[i] = (float) Math.cos(0.9 * t + i + p.value.length);
            opt.step(CPU, ps, 1e-2);
        }
    }

    private static TrainCheckpoint.Contents snapshot(int step, List<Parameter> ps, Optimizer opt) {
        return TrainCheckpoint.Contents.of(step, ps, opt, new Batcher.State(step / 5, step % 5), Map.of("seed", 42L, "dropout", -7L),
                Map.of("method", "state-offset-h"));
    }

    @Test
    void roundTripResumesBitForBit() {
        List<Parameter> ps = params();
        AdamW opt = new AdamW(0.01);
        train(ps, opt, 0, 7);
        TrainCheckpoint.save(run, snapshot(7, ps, opt));

        TrainCheckpoint.Contents c = TrainCheckpoint.load(run).orElseThrow();
        assertEquals(7, c.step());
        assertEquals(new Batcher.State(1, 2), c.data());
        assertEquals(Map.of("seed", 42L, "dropout", -7L), c.seeds());
        assertEquals(Map.of("method", "state-offset-h"), c.info());
        List<Parameter> resumed = List.of(
                new Parameter("backbone.layers.0.mixer.state_offset", new float[6], false, 2, 3),
                new Parameter("backbone.layers.0.mixer.lora_A", new float[2], true, 1, 2));
        AdamW resumedOpt = new AdamW(0.01);
        c.restore(resumed, resumedOpt);
        assertArrayEquals(ps.get(0).value, resumed.get(0).value);

        train(ps, opt, 7, 5);
        train(resumed, resumedOpt, 7, 5);
        for (int i = 0; i < ps.size(); i++) assertArrayEquals(ps.get(i).value, resumed.get(i).value, ps.get(i).name);
    }

    @Test
    void noCheckpointIsEmpty() {
        assertTrue(TrainCheckpoint.load(run).isEmpty());
    }

    @Test
    void aSecondSaveReplacesTheFirstAndLeavesNothingElse() throws IOException {
        List<Parameter> ps = params();
        Sgd opt = new Sgd(0);
        TrainCheckpoint.save(run, snapshot(1, ps, opt));
        train(ps, opt, 1, 1);
        TrainCheckpoint.save(run, snapshot(2, ps, opt));
        assertEquals(2, TrainCheckpoint.load(run).orElseThrow().step());
        try (Stream<Path> s = Files.list(run)) {
            assertEquals(List.of(TrainCheckpoint.DIR), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void aCrashAtAnyStageOfASaveStillLoadsThePreviousCheckpoint() {
        for (String stage : List.of("params", "written", "aside")) {
            Path dir = run.resolve(stage);
            List<Parameter> ps = params();
            AdamW opt = new AdamW(0);
            train(ps, opt, 0, 3);
            TrainCheckpoint.save(dir, snapshot(3, ps, opt));
            float[] saved = ps.get(0).value.clone();
            train(ps, opt, 3, 3);

            RuntimeException crash = assertThrows(RuntimeException.class, () -> TrainCheckpoint.save(dir, snapshot(6, ps, opt), point -> {
                if (point.equals(stage)) throw new RuntimeException("crash at " + point);
            }));
            assertEquals("crash at " + stage, crash.getMessage());

            TrainCheckpoint.Contents c = TrainCheckpoint.load(dir).orElseThrow();
            assertEquals(3, c.step(), stage);
            assertArrayEquals(saved, c.params().get(ps.get(0).name).toFloatArray(), stage);
            assertEquals(3, c.optimizer().get("step").getLong(0), stage);

            // The next save cleans up what the crash left and becomes the one loaded.
            TrainCheckpoint.save(dir, snapshot(6, ps, opt));
            assertEquals(6, TrainCheckpoint.load(dir).orElseThrow().step(), stage);
            assertFalse(Files.exists(dir.resolve(TrainCheckpoint.PREVIOUS)), stage);
        }
    }

    @Test
    void aHalfWrittenTempDirectoryIsNeverLoaded() throws IOException {
        List<Parameter> ps = params();
        Sgd opt = new Sgd(0);
        TrainCheckpoint.save(run, snapshot(4, ps, opt));
        // What a process killed mid-write leaves: a temp directory with a truncated file and no state.
        Path tmp = Files.createDirectory(run.resolve(TrainCheckpoint.TEMP_PREFIX + "123"));
        Files.write(tmp.resolve("params.safetensors"), new byte[] {42, 0, 0});
        assertEquals(4, TrainCheckpoint.load(run).orElseThrow().step());
        TrainCheckpoint.save(run, snapshot(5, ps, opt));
        assertFalse(Files.exists(tmp), "the next save removes the leftover");
    }

    @Test
    void onlyAPreviousCheckpointLeftIsLoadedAndRecovered() throws IOException {
        List<Parameter> ps = params();
        Sgd opt = new Sgd(0);
        TrainCheckpoint.save(run, snapshot(9, ps, opt));
        Files.move(run.resolve(TrainCheckpoint.DIR), run.resolve(TrainCheckpoint.PREVIOUS));
        assertEquals(9, TrainCheckpoint.load(run).orElseThrow().step());
    }

    @Test
    void restoreRefusesAnotherModelsParameters() {
        List<Parameter> ps = params();
        Sgd opt = new Sgd(0);
        train(ps, opt, 0, 1);
        TrainCheckpoint.save(run, snapshot(1, ps, opt));
        TrainCheckpoint.Contents c = TrainCheckpoint.load(run).orElseThrow();
        List<Parameter> wrongShape = List.of(new Parameter("backbone.layers.0.mixer.state_offset", new float[6], false, 3, 2),
                new Parameter("backbone.layers.0.mixer.lora_A", new float[2], true, 1, 2));
        StatetuneException e = assertThrows(StatetuneException.class, () -> c.restore(wrongShape, new Sgd(0)));
        assertEquals("checkpoint: backbone.layers.0.mixer.state_offset is [2, 3], the model wants [3, 2]", e.getMessage());
        assertArrayEquals(new float[2], wrongShape.get(1).value, "a refused checkpoint changes nothing");
        List<Parameter> missing = List.of(new Parameter("backbone.layers.1.mixer.state_offset", new float[1], false, 1));
        assertThrows(StatetuneException.class, () -> c.restore(missing, new Sgd(0)));
        assertThrows(StatetuneException.class, () -> c.restore(params(), new AdamW(0)), "an SGD state into AdamW");
    }
}
