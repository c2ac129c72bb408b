package dev.statetune.cli;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.MambaLM;
import dev.statetune.model.ModelShapes;
import dev.statetune.model.mamba2.Mamba2Config;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.model.mamba2.Mamba2Shapes;
import dev.statetune.tensor.Tensor;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.Map;

/** A published Mamba-1 or Mamba-2 shape with random weights (drawn once), for the benchmarks. */
final class RandomModel {
    private final String label;
    private final MambaConfig mamba1;     // null for Mamba-2
    private final ObjectNode mamba2;      // null for Mamba-1
    private final Map<String, Tensor> weights;

    RandomModel(String arch, String size) {
        label = "random-" + arch + "-" + size;
        switch (arch) {
            case "mamba1" -> {
                mamba1 = ModelShapes.config(size);
                mamba2 = null;
                weights = ModelShapes.randomWeights(mamba1, 0);
            }
            case "mamba2" -> {
                mamba1 = null;
                mamba2 = Mamba2Shapes.configJson(size);
                weights = Mamba2Shapes.randomWeights(Mamba2Config.fromJson(mamba2, Path.of(label, "config.json")), 0);
            }
            default -> throw new StatetuneException("unknown architecture \"" + arch + "\" (mamba1 or mamba2)");
        }
    }

    /** The model on a backend (each call a new one, sharing the host weights). */
    LanguageModel on(Backend backend) {
        return mamba1 != null ? new MambaLM(Checkpoint.inMemory(Path.of(label), mamba1, weights), backend)
                : new Mamba2LM(Checkpoint.inMemory(Path.of(label), mamba2, weights), backend);
    }
}
