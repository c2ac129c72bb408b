package dev.statetune.cli;

import dev.statetune.model.LanguageModel;
import dev.statetune.peft.Adapter;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --adapter: run the model with a trained adapter plugged in. */
final class AdapterOption {
    @Option(names = "--adapter", paramLabel = "DIR",
            description = "an adapter directory written by `statetune train` (adapter_config.json + adapter_model.safetensors)")
    Path adapter;

    /** Plugs the adapter into lm (nothing without --adapter); closes lm when the adapter cannot be loaded. */
    LanguageModel apply(LanguageModel lm) {
        if (adapter == null) return lm;
        try {
            Adapter.load(adapter, lm).attach(lm);
            return lm;
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }
}
