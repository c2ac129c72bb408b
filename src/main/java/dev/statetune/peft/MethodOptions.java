package dev.statetune.peft;

import java.util.List;

/** The methods' hyperparameters, with the paper's defaults (PAPER_NOTES.md). */
public record MethodOptions(int loraRank, double loraAlpha, double loraDropout, List<String> loraTargets,
                            int virtualTokens, boolean tuneConvState, int extraStateDims) {
    public static final List<String> PAPER_LORA_TARGETS = List.of("x_proj.dt", "x_proj.B", "x_proj.C", "dt_proj");
    /** Mamba-2's mixer has no x_proj or dt_proj: its linear layers are in_proj and out_proj. */
    public static final List<String> MAMBA2_LORA_TARGETS = List.of("in_proj", "out_proj");

    public static MethodOptions defaults() {
        return new MethodOptions(8, 8, 0.1, PAPER_LORA_TARGETS, 16, false, 8);
    }

    /** These options with other LoRA targets. */
    public MethodOptions withLoraTargets(List<String> targets) {
        return new MethodOptions(loraRank, loraAlpha, loraDropout, List.copyOf(targets), virtualTokens, tuneConvState, extraStateDims);
    }
}
