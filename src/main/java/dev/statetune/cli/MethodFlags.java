package dev.statetune.cli;

import dev.statetune.peft.MethodOptions;
import picocli.CommandLine.Option;

import java.util.List;

/** The methods' options on the command line, defaulting to the paper's recipe. */
final class MethodFlags {
    @Option(names = "--lora-r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE})") int loraRank;
    @Option(names = "--lora-alpha", defaultValue = "8", description = "LoRA alpha (default: ${DEFAULT-VALUE})") double loraAlpha;
    @Option(names = "--lora-dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE})") double loraDropout;
    @Option(names = "--lora-targets", split = ",", defaultValue = "x_proj.dt,x_proj.B,x_proj.C,dt_proj",
            description = "LoRA targets (default: ${DEFAULT-VALUE}; also x_proj, in_proj, out_proj)") List<String> loraTargets;
    @Option(names = "--num-virtual-tokens", defaultValue = "16", description = "prefix / prompt tokens (default: ${DEFAULT-VALUE})") int virtualTokens;
    @Option(names = "--tune-conv-state", description = "initial-state: also tune the conv state") boolean tuneConvState;
    @Option(names = "--extra-state-dims", defaultValue = "8", description = "additional-scan state dims (default: ${DEFAULT-VALUE})") int extraStateDims;

    MethodOptions options() {
        return new MethodOptions(loraRank, loraAlpha, loraDropout, List.copyOf(loraTargets), virtualTokens, tuneConvState, extraStateDims);
    }
}
