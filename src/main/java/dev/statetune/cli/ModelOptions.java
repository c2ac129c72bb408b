package dev.statetune.cli;

import dev.statetune.backend.Backend;
import dev.statetune.backend.Devices;
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

    @Option(names = "--device", paramLabel = "DEV", description = "cpu, cuda or cuda:N (default: cuda when a GPU is usable, else cpu; "
            + "training runs on the cpu until the CUDA backward lands)")
    String device;

    Path modelDir() { return dir.modelDir(); }

    String describe() { return dir.describe(); }

    MambaLM load() {
        return load(device);
    }

    /** The model on `--device`, or on defaultDevice when the flag is absent (null: a usable GPU, else the CPU). */
    MambaLM load(String defaultDevice) {
        Backend backend = Devices.open(device != null ? device : defaultDevice, threads);
        try {
            return new MambaLM(Checkpoint.open(modelDir()), backend);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }
}
