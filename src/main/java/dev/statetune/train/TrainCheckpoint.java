package dev.statetune.train;

import dev.statetune.peft.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;
import dev.statetune.data.Batcher;
import dev.statetune.io.SafeTensors;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Everything needed to resume training bit for bit, in {@code <run>/checkpoint/}: the trainable
 * parameters (params.safetensors), the optimizer state (optimizer.safetensors), and step, data
 * position, RNG seeds and free-form info (trainer_state.json). A save writes a fresh temp directory,
 * fsyncs it, moves the old checkpoint aside, renames the new one in and only then deletes the old:
 * a crash at any point leaves a complete checkpoint under "checkpoint" or "checkpoint.previous",
 * and a temp directory is never loaded.
 */
public final class TrainCheckpoint {
    static final String DIR = "checkpoint", PREVIOUS = "checkpoint.previous", TEMP_PREFIX = "checkpoint.tmp-";
    private static final String PARAMS = "params.safetensors", OPTIMIZER = "optimizer.safetensors", STATE = "trainer_state.json";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A checkpoint's contents; loaded tensors are heap copies, valid after the files are gone. */
    public record Contents(int step, Map<String, Tensor> params, Map<String, Tensor> optimizer, Batcher.State data,
                           Map<String, Long> seeds, Map<String, String> info) {
        /** Snapshots live training state (parameter values are copied, so training may go on). */
        public static Contents of(int step, List<Parameter> params, Optimizer optimizer, Batcher.State data,
                                  Map<String, Long> seeds, Map<String, String> info) {
            Map<String, Tensor> values = new LinkedHashMap<>();
            for (Parameter p : params) values.put(p.name, Tensor.of(p.value.clone(), p.shape));
            return new Contents(step, values, optimizer.state(), data, Map.copyOf(seeds), Map.copyOf(info));
        }

        /** Copies the saved values into {@code params} and the optimizer state into {@code optimizer}. */
        public void restore(List<Parameter> params, Optimizer optimizer) {
            // Every check before any copy, so that a refused checkpoint leaves the model as it was.
            if (this.params.size() != params.size())
                throw new StatetuneException("checkpoint: holds " + this.params.size() + " parameters, the model trains " + params.size());
            for (Parameter p : params) {
                Tensor t = this.params.get(p.name);
                if (t == null) throw new StatetuneException("checkpoint: has no parameter " + p.name + " (saved by another method or model?)");
                if (!Arrays.equals(t.shape(), p.shape))
                    throw new StatetuneException("checkpoint: " + p.name + " is " + Arrays.toString(t.shape()) + ", the model wants " + Arrays.toString(p.shape));
            }
            optimizer.load(this.optimizer);
            for (Parameter p : params) System.arraycopy(this.params.get(p.name).toFloatArray(), 0, p.value, 0, p.value.length);
        }
    }

    private TrainCheckpoint() {}

    public static void save(Path runDir, Contents c) {
        save(runDir, c, point -> {});
    }

    /** {@code crashPoint} is called at each stage ("params", "written", "aside") so tests can fail there. */
    static void save(Path runDir, Contents c, Consumer<String> crashPoint) {
        Path current = runDir.resolve(DIR), previous = runDir.resolve(PREVIOUS);
        try {
            Files.createDirectories(runDir);
            recover(runDir);
            Path tmp = Files.createTempDirectory(runDir, TEMP_PREFIX);
            write(tmp.resolve(PARAMS), c.params());
            crashPoint.accept("params");
            write(tmp.resolve(OPTIMIZER), c.optimizer());
            writeState(tmp.resolve(STATE), c); // last: a directory without it is incomplete
            fsync(tmp);
            crashPoint.accept("written");
            if (Files.exists(current)) {
                Files.move(current, previous, StandardCopyOption.ATOMIC_MOVE);
                fsync(runDir);
            }
            crashPoint.accept("aside");
            Files.move(tmp, current, StandardCopyOption.ATOMIC_MOVE);
            fsync(runDir);
            deleteTree(previous);
        } catch (IOException e) {
            throw new StatetuneException(current + ": cannot write the checkpoint (" + e.getMessage() + ")");
        }
    }

    /** The newest complete checkpoint of the run, or empty when it has none. */
    public static Optional<Contents> load(Path runDir) {
        Path dir = runDir.resolve(DIR);
        if (!Files.isDirectory(dir)) dir = runDir.resolve(PREVIOUS); // a crash between moving the old aside and the new in
        if (!Files.isDirectory(dir)) return Optional.empty();
        if (!Files.exists(dir.resolve(STATE))) throw new StatetuneException(dir + ": incomplete checkpoint (no " + STATE + ")");
        JsonNode state;
        try {
            state = JSON.readTree(dir.resolve(STATE).toFile());
        } catch (IOException e) {
            throw new StatetuneException(dir.resolve(STATE) + ": cannot read (" + e.getMessage() + ")");
        }
        if (state.path("format").asInt() != FORMAT)
            throw new StatetuneException(dir.resolve(STATE) + ": unknown checkpoint format " + state.path("format"));
        Map<String, Long> seeds = new LinkedHashMap<>();
        state.path("seeds").properties().forEach(e -> seeds.put(e.getKey(), e.getValue().asLong()));
        Map<String, String> info = new LinkedHashMap<>();
        state.path("info").properties().forEach(e -> info.put(e.getKey(), e.getValue().asText()));
        Batcher.State data = new Batcher.State(state.path("epoch").asInt(), state.path("position").asInt());
        return Optional.of(new Contents(state.path("step").asInt(), read(dir.resolve(PARAMS)), read(dir.resolve(OPTIMIZER)),
                data, seeds, info));
    }

    /** Finishes or undoes what a crashed save left: only then may its leftovers be deleted. */
    private static void recover(Path runDir) throws IOException {
        Path current = runDir.resolve(DIR), previous = runDir.resolve(PREVIOUS);
        if (!Files.exists(current) && Files.exists(previous)) Files.move(previous, current, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(previous);
        try (Stream<Path> s = Files.list(runDir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(TEMP_PREFIX)).toList()) deleteTree(p);
        }
    }

    private static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        SafeTensorsWriter.write(file, tensors, Map.of("format", "pt"));
        fsync(file);
    }

    private static void writeState(Path file, Contents c) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("step", c.step());
        root.put("epoch", c.data().epoch());
        root.put("position", c.data().position());
        root.set("seeds", JSON.valueToTree(c.seeds()));
        root.set("info", JSON.valueToTree(c.info()));
        Files.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        fsync(file);
    }

    private static Map<String, Tensor> read(Path file) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            st.tensors().forEach((name, t) -> out.put(name, heapCopy(t)));
        }
        return out;
    }

    private static Tensor heapCopy(Tensor t) {
        byte[] bytes = t.data().toArray(ValueLayout.JAVA_BYTE);
        return new Tensor(MemorySegment.ofArray(bytes), t.dtype(), t.shape());
    }

    /** Flushes a file or directory to disk. Directories cannot be opened for fsync everywhere (Windows): best effort there. */
    private static void fsync(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(path)) throw e;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
