package dev.statetune.peft;

import java.util.List;

/** The methods' hyperparameters, with the paper's defaults (PAPER_NOTES.md). */
public record MethodOptions(int loraRank, double loraAlpha, double loraDropout, List<String> loraTargets,
                            int virtualTokens, boolean tuneConvState, int extraStateDims) {
    public static final List<String> PAPER_LORA_TARGETS = List.of("x_proj.dt", "x_proj.B", "x_proj.C", "dt_proj");

    public static MethodOptions defaults() {
        return new MethodOptions(8, 8, 0.1, PAPER_LORA_TARGETS, 16, false, 8);
    }
}
