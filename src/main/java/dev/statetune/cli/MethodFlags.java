package dev.statetune.cli;

import dev.statetune.peft.MethodOptions;
import picocli.CommandLine.Option;

import java.util.List;

/** The methods' options on the command line, defaulting to the paper's recipe. */
final class MethodFlags {
    @Option(names = "--lora-r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE})") int loraRank;
    @Option(names = "--lora-alpha", defaultValue = "8", description = "LoRA alpha (default: ${DEFAULT-VALUE})") double loraAlpha;
    @Option(names = "--lora-dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE})") double loraDropout;
    @Option(names = "--lora-targets", split = ",",
            description = "LoRA targets (default: x_proj.dt,x_proj.B,x_proj.C,dt_proj on Mamba-1, also x_proj, in_proj, out_proj; "
                    + "in_proj,out_proj on Mamba-2)") List<String> loraTargets;
    @Option(names = "--num-virtual-tokens", defaultValue = "16", description = "prefix / prompt tokens (default: ${DEFAULT-VALUE})") int virtualTokens;
    @Option(names = "--tune-conv-state", description = "initial-state: also tune the conv state") boolean tuneConvState;
    @Option(names = "--extra-state-dims", defaultValue = "8", description = "additional-scan state dims (default: ${DEFAULT-VALUE})") int extraStateDims;

    /** The options; LoRA targets default to the model's (the paper's recipe on Mamba-1, in_proj and out_proj on Mamba-2). */
    MethodOptions options(boolean mamba2) {
        List<String> targets = loraTargets != null ? loraTargets : mamba2 ? MethodOptions.MAMBA2_LORA_TARGETS : MethodOptions.PAPER_LORA_TARGETS;
        return new MethodOptions(loraRank, loraAlpha, loraDropout, List.copyOf(targets), virtualTokens, tuneConvState, extraStateDims);
    }
}
