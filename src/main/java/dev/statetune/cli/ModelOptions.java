package dev.statetune.cli;

import dev.statetune.backend.Backend;
import dev.statetune.backend.Devices;
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

    @Option(names = "--device", paramLabel = "DEV", description = "cpu, cuda or cuda:N (default: cuda when a GPU is usable, else cpu)")
    String device;

    @Option(names = "--dtype", paramLabel = "T", description = "fp32 (default) or bf16: on the GPU, the frozen matrices in bf16 "
            + "and every matrix GEMM on tensor cores (fp32 accumulation, fp32 scan state, fp32 masters of trained parameters)")
    String dtype;

    Path modelDir() { return dir.modelDir(); }

    String describe() { return dir.describe(); }

    /**
     * The checkpoint as the model its config.json names (model_type mamba or mamba2, or the
     * state-spaces layouts), on `--device` (by default a usable GPU, else the CPU, for both generations).
     */
    LanguageModel load() {
        Checkpoint ckpt = Checkpoint.open(modelDir());
        boolean mamba2 = ckpt.modelType().equals("mamba2");
        Backend backend;
        try {
            backend = Devices.open(device, threads, dtype);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
        try {
            return mamba2 ? new Mamba2LM(ckpt, backend) : new MambaLM(ckpt, backend);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }
}
