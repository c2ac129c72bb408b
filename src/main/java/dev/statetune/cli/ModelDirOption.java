package dev.statetune.cli;

import dev.statetune.io.BuiltinModel;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --model: a checkpoint directory, or the built-in tiny model when absent. */
final class ModelDirOption {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face or state-spaces Mamba checkpoint directory (default: the built-in tiny model)")
    Path model;

    Path modelDir() {
        return model != null ? model : BuiltinModel.directory();
    }

    String describe() {
        return model != null ? model.toString() : BuiltinModel.DESCRIPTION;
    }
}
