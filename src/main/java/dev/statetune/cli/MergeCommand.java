package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.peft.Adapter;
import dev.statetune.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.Callable;

/** `statetune merge`: fold a LoRA / BitFit / full adapter into the weights; writes a Hugging Face checkpoint directory. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a lora, bitfit or full adapter into the base weights and write a Hugging Face Mamba or Mamba-2 checkpoint "
                + "(config.json, model.safetensors in float32, tokenizer.json when the base has one).")
final class MergeCommand implements Callable<Integer> {
    @Mixin ModelDirOption model;
    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "adapter directory") Path adapter;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output checkpoint directory") Path out;

    @Override
    public Integer call() throws Exception {
        Checkpoint ckpt = Checkpoint.open(model.modelDir());
        try (CpuBackend cpu = new CpuBackend();
             LanguageModel lm = ckpt.modelType().equals("mamba2") ? new Mamba2LM(ckpt, cpu) : new MambaLM(ckpt, cpu)) {
            Map<String, Tensor> merged = Adapter.load(adapter, lm).mergedWeights(lm);
            Map<String, Object> config = lm instanceof Mamba2LM m2 ? m2.config().toHuggingFace() : ((MambaLM) lm).config().toHuggingFace();
            Files.createDirectories(out);
            SafeTensorsWriter.write(out.resolve("model.safetensors"), merged, Map.of("format", "pt", "producer", "statetune merge"));
            Files.writeString(out.resolve("config.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(config));
            Path tok = model.modelDir().resolve("tokenizer.json");
            if (Files.exists(tok)) Files.copy(tok, out.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            System.out.printf("merged %s into %s: %d tensors written to %s%n", adapter, model.describe(), merged.size(), out);
        }
        return 0;
    }
}
