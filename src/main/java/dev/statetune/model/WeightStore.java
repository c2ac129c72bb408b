package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.io.Checkpoint;
import dev.statetune.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model's checkpoint weights by Hugging Face name, shape-checked and prepared for the backend,
 * and the ones a method trains: their fp32 master values replace the stored ones and the backward
 * fills their gradients. Shared by MambaLM and Mamba2LM.
 */
public final class WeightStore {
    private final Checkpoint checkpoint;
    private final Backend backend;
    private final Map<String, Tensor> stored = new HashMap<>();   // Hugging Face name → checkpoint tensor
    private Map<String, TrainedWeight> trained = Map.of();        // the weights a method trains, by name

    public WeightStore(Checkpoint checkpoint, Backend backend) {
        this.checkpoint = checkpoint;
        this.backend = backend;
    }

    /** Reads the checkpoint's tensor under this name (missing or misshapen is an error naming the directory). */
    public void store(String name, long... shape) {
        stored.put(name, backend.prepareWeight(checkpoint.get(name, shape)));
    }

    /** The current weight under this name: the trained master copy, else the checkpoint's; null when the model has none. */
    public Tensor weight(String name) {
        TrainedWeight t = trained.get(name);
        return t != null ? t.value() : stored.get(name);
    }

    /** Its gradient buffer, or null when the weight is frozen. */
    public Tensor grad(String name) {
        TrainedWeight t = trained.get(name);
        return t == null ? null : t.grad();
    }

    /** The checkpoint's tensor under its Hugging Face name, for methods that start from it. */
    public Tensor stored(String name) {
        Tensor t = stored.get(name);
        if (t == null) throw new IllegalArgumentException("no weight " + name);
        return t;
    }

    /** Names of the checkpoint's weights, sorted. */
    public List<String> names() {
        return List.copyOf(new TreeMap<>(stored).keySet());
    }

    public boolean anyTrained() {
        return !trained.isEmpty();
    }

    /** Trains these weights (each shaped as the stored one) from now on, in place of the checkpoint's. */
    public void train(Map<String, TrainedWeight> weights) {
        for (var e : weights.entrySet()) {
            Tensor s = stored(e.getKey());
            if (!Arrays.equals(s.shape(), e.getValue().value().shape()))
                throw new IllegalArgumentException(e.getKey() + ": trained shape " + Arrays.toString(e.getValue().value().shape()));
        }
        trained = Map.copyOf(weights);
    }
}
