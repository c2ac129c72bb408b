package dev.statetune.cli;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
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
