package dev.statetune.cli;

import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaLM;
import dev.statetune.peft.Adapter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --model, --threads and --adapter, shared by the commands that run a model. */
final class ModelOptions {
    @Mixin ModelDirOption dir;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores)")
    Integer threads;

    @Option(names = "--adapter", paramLabel = "DIR", description = "an adapter directory written by `statetune train` (adapter_config.json + adapter_model.safetensors)")
    Path adapter;

    Path modelDir() { return dir.modelDir(); }

    String describe() { return dir.describe(); }

    MambaLM load() {
        CpuBackend backend = threads != null ? new CpuBackend(threads) : new CpuBackend();
        try {
            MambaLM lm = new MambaLM(Checkpoint.open(modelDir()), backend);
            if (adapter != null) {
                try {
                    Adapter.load(adapter, lm).attach(lm);
                } catch (RuntimeException e) {
                    lm.close();
                    throw e;
                }
            }
            return lm;
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }
}
