package dev.statetune.io;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.statetune.StatetuneException;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.mamba2.Mamba2Config;
import dev.statetune.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Mamba checkpoint directory: config.json plus one or several (index.json) memory-mapped
 * safetensors files. Tensor names are served under Hugging Face's keys whatever the layout:
 * the state-spaces layout's `backbone.embedding.weight` is found as `backbone.embeddings.weight`.
 * A Mamba-2 checkpoint keeps its config.json for Mamba2Config; config() is the Mamba-1 one.
 */
public final class Checkpoint implements AutoCloseable {
    private static final String INDEX = "model.safetensors.index.json";

    private final Path dir;
    private final JsonNode configJson;
    private final MambaConfig config;     // null for a Mamba-2 checkpoint
    private final List<SafeTensors> files;
    private final Map<String, Tensor> tensors;

    private Checkpoint(Path dir, JsonNode configJson, MambaConfig config, List<SafeTensors> files, Map<String, Tensor> tensors) {
        this.dir = dir;
        this.configJson = configJson;
        this.config = config;
        this.files = files;
        this.tensors = tensors;
    }

    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) throw new StatetuneException(dir + ": not a directory (expected a checkpoint with config.json)");
        Path configFile = dir.resolve("config.json");
        JsonNode json = readJson(configFile);
        MambaConfig config = Mamba2Config.describes(json) ? null : MambaConfig.fromJson(json, configFile);
        List<SafeTensors> files = new ArrayList<>();
        try {
            for (Path f : weightFiles(dir)) files.add(SafeTensors.open(f));
            Map<String, Tensor> tensors = new HashMap<>();
            for (SafeTensors f : files)
                f.tensors().forEach((name, t) -> tensors.put(name.replace("backbone.embedding.", "backbone.embeddings."), t));
            return new Checkpoint(dir, json, config, files, tensors);
        } catch (RuntimeException e) {
            files.forEach(SafeTensors::close);
            throw e;
        }
    }

    /** A checkpoint held in memory (random weights for benchmarks, tests); `label` stands for its directory. */
    public static Checkpoint inMemory(Path label, MambaConfig config, Map<String, Tensor> tensors) {
        return new Checkpoint(label, null, config, List.of(), Map.copyOf(tensors));
    }

    /** A Mamba-2 checkpoint held in memory: its config.json as parsed JSON. */
    public static Checkpoint inMemory(Path label, JsonNode mamba2Config, Map<String, Tensor> tensors) {
        return new Checkpoint(label, mamba2Config, null, List.of(), Map.copyOf(tensors));
    }

    private static List<Path> weightFiles(Path dir) {
        Path single = dir.resolve("model.safetensors"), index = dir.resolve(INDEX);
        if (Files.exists(index)) {
            JsonNode map = readJson(index).path("weight_map");
            if (!map.isObject() || map.isEmpty()) throw new StatetuneException(index + ": no weight_map");
            Set<Path> shards = new LinkedHashSet<>();
            map.elements().forEachRemaining(v -> shards.add(dir.resolve(v.asText())));
            for (Path s : shards) if (!Files.exists(s)) throw new StatetuneException(index + ": shard " + s.getFileName() + " is missing");
            return new ArrayList<>(shards);
        }
        if (Files.exists(single)) return List.of(single);
        if (Files.exists(dir.resolve("pytorch_model.bin")))
            throw new StatetuneException(dir + ": only pytorch_model.bin found; statetune reads safetensors "
                    + "(convert with transformers: model.save_pretrained(dir, safe_serialization=True))");
        throw new StatetuneException(dir + ": no model.safetensors or " + INDEX);
    }

    public static JsonNode readJson(Path file) {
        if (!Files.exists(file)) throw new StatetuneException(file + ": not found");
        try {
            // Python's json writes infinite floats (Mamba-2's time_step_limit) as a bare Infinity
            JsonNode node = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(file.toFile());
            if (node == null || !node.isObject()) throw new StatetuneException(file + ": not a JSON object");
            return node;
        } catch (IOException e) {
            throw new StatetuneException(file + ": malformed JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    public Path dir() { return dir; }
    /** The Mamba-1 config; a Mamba-2 checkpoint is an error naming the directory. */
    public MambaConfig config() {
        if (config == null)
            throw new StatetuneException(dir + ": a Mamba-2 checkpoint, where a Mamba-1 one is expected");
        return config;
    }

    /** config.json as read (null for a checkpoint held in memory). */
    public JsonNode configJson() { return configJson; }

    /** "mamba2" or "mamba". */
    public String modelType() { return config == null ? "mamba2" : "mamba"; }
    public Map<String, Tensor> tensors() { return tensors; }
    public long storedBytes() { return files.stream().mapToLong(f -> f.file().toFile().length()).sum(); }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** The tensor with this Hugging Face name and shape; missing or misshapen is an error naming the directory. */
    public Tensor get(String name, long... shape) {
        Tensor t = tensors.get(name);
        if (t == null) throw new StatetuneException(dir + ": missing tensor " + name);
        if (!java.util.Arrays.equals(t.shape(), shape))
            throw new StatetuneException(dir + ": tensor " + name + " has shape " + java.util.Arrays.toString(t.shape())
                    + ", config.json implies " + java.util.Arrays.toString(shape));
        return t;
    }

    @Override
    public void close() {
        files.forEach(SafeTensors::close);
    }
}
