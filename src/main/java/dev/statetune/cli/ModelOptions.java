package dev.statetune.cli;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.BuiltinModel;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --model and --threads, shared by the commands that run a model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face or state-spaces Mamba checkpoint directory (default: the built-in tiny model)")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores)")
    Integer threads;

    Path modelDir() {
        return model != null ? model : BuiltinModel.directory();
    }

    String describe() {
        return model != null ? model.toString() : BuiltinModel.DESCRIPTION;
    }

    MambaLM load() {
        CpuBackend backend = threads != null ? new CpuBackend(threads) : new CpuBackend();
        try {
            return new MambaLM(Checkpoint.open(modelDir()), backend);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }
}
