package dev.statetune.peft;

import dev.statetune.StatetuneException;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.mamba2.Mamba2Config;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The fine-tuning methods of the paper (PAPER_NOTES.md, "The methods"), by their CLI names, with
 * the number of parameters each trains.
 */
public enum Method {
    STATE_OFFSET_H("state-offset-h"),
    STATE_OFFSET_Y("state-offset-y"),
    INITIAL_STATE("initial-state"),
    PREFIX("prefix"),
    PROMPT("prompt"),
    LORA("lora"),
    BITFIT("bitfit"),
    FULL("full"),
    ADDITIONAL_SCAN("additional-scan");

    public final String cliName;

    Method(String cliName) {
        this.cliName = cliName;
    }

    public static Method parse(String name) {
        for (Method m : values()) if (m.cliName.equals(name)) return m;
        throw new StatetuneException("unknown method '" + name + "' (known: "
                + Arrays.stream(values()).map(m -> m.cliName).collect(Collectors.joining(", ")) + ")");
    }

    /** Parameters this method trains on a model of this config, with the options' values. */
    public long parameterCount(MambaConfig c, MethodOptions o) {
        long L = c.nLayers(), d = c.modelDim(), di = c.innerDim(), n = c.stateDim(), r = c.dtRank(), k = c.convWidth();
        return switch (this) {
            case STATE_OFFSET_H -> L * di * n;
            case STATE_OFFSET_Y -> L * di;
            case INITIAL_STATE -> L * di * n + (o.tuneConvState() ? L * di * (k - 1) : 0);
            case PREFIX -> L * o.virtualTokens() * d;
            case PROMPT -> (long) o.virtualTokens() * d;
            case LORA -> L * o.loraTargets().stream().mapToLong(t -> loraCount(t, c, o.loraRank())).sum();
            case BITFIT -> L * ((c.useConvBias() ? di : 0) + di);
            case FULL -> c.parameterCount();
            case ADDITIONAL_SCAN -> L * (2L * o.extraStateDims() * di + di * (long) o.extraStateDims());
        };
    }

    /** Parameters this method trains on a Mamba-2 model of this config (PAPER_NOTES.md, Mamba-2 analogue). */
    public long parameterCount(Mamba2Config c, MethodOptions o) {
        var s = c.ssd();
        long L = c.nLayers(), state = (long) s.nHeads() * s.headDim() * s.stateDim();
        return switch (this) {
            case STATE_OFFSET_H, INITIAL_STATE -> L * state;
            case STATE_OFFSET_Y -> L * s.nHeads() * s.headDim();
            case LORA -> L * o.loraTargets().stream().mapToLong(t -> {
                LoraTarget target = LoraTarget.of(t, c);
                return (long) o.loraRank() * (target.in() + target.rowTo() - target.rowFrom());
            }).sum();
            case BITFIT -> L * ((c.useConvBias() ? c.convDim() : 0) + (c.useBias() ? c.inProjDim() + c.modelDim() : 0) + s.nHeads());
            case FULL -> c.parameterCount();
            case PROMPT -> (long) o.virtualTokens() * c.modelDim();
            case PREFIX -> L * o.virtualTokens() * c.modelDim();
            case ADDITIONAL_SCAN -> throw new StatetuneException("method '" + cliName + "' is not available for Mamba-2 models");
        };
    }

    /** LoRA's A (rank × in) and B (out × rank) for one target of one layer. */
    private static long loraCount(String target, MambaConfig c, int rank) {
        long d = c.modelDim(), di = c.innerDim(), n = c.stateDim(), r = c.dtRank();
        long[] inOut = switch (target) {
            case "x_proj.dt" -> new long[] {di, r};
            case "x_proj.B", "x_proj.C" -> new long[] {di, n};
            case "x_proj" -> new long[] {di, r + 2 * n};
            case "dt_proj" -> new long[] {r, di};
            case "in_proj" -> new long[] {d, 2 * di};
            case "out_proj" -> new long[] {di, d};
            default -> throw new StatetuneException("unknown LoRA target '" + target
                    + "' (known: x_proj.dt, x_proj.B, x_proj.C, x_proj, dt_proj, in_proj, out_proj)");
        };
        return rank * (inOut[0] + inOut[1]);
    }
}
