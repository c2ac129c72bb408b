package dev.statetune.cli;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import dev.statetune.model.mamba2.Mamba2LM;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --model and --threads, shared by the commands that run a model. */
final class ModelOptions {
    @Mixin ModelDirOption dir;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores)")
    Integer threads;

    Path modelDir() { return dir.modelDir(); }

    String describe() { return dir.describe(); }

    /** The checkpoint as the model its config.json names (model_type mamba or mamba2, or the state-spaces layouts). */
    LanguageModel load() {
        CpuBackend backend = threads != null ? new CpuBackend(threads) : new CpuBackend();
        try {
            Checkpoint ckpt = Checkpoint.open(modelDir());
            return ckpt.modelType().equals("mamba2") ? new Mamba2LM(ckpt, backend) : new MambaLM(ckpt, backend);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }
}
