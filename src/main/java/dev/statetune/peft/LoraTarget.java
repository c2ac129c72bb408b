package dev.statetune.peft;

import dev.statetune.StatetuneException;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.mamba2.Mamba2Config;

/**
 * Where a LoRA target sits in the mixer: which linear layer, which of its output rows (the paper's
 * recipe adapts Mamba-1's x_proj dt, B and C rows separately), and its input width. Mamba-2 has
 * in_proj (z | xBC | dt) and out_proj.
 */
record LoraTarget(String name, String module, int rowFrom, int rowTo, int in) {
    static LoraTarget of(String name, MambaConfig c) {
        int d = c.modelDim(), di = c.innerDim(), n = c.stateDim(), r = c.dtRank();
        return switch (name) {
            case "x_proj.dt" -> new LoraTarget(name, "x_proj", 0, r, di);
            case "x_proj.B" -> new LoraTarget(name, "x_proj", r, r + n, di);
            case "x_proj.C" -> new LoraTarget(name, "x_proj", r + n, r + 2 * n, di);
            case "x_proj" -> new LoraTarget(name, "x_proj", 0, r + 2 * n, di);
            case "dt_proj" -> new LoraTarget(name, "dt_proj", 0, di, r);
            case "in_proj" -> new LoraTarget(name, "in_proj", 0, 2 * di, d);
            case "out_proj" -> new LoraTarget(name, "out_proj", 0, d, di);
            default -> throw new StatetuneException("unknown LoRA target '" + name
                    + "' (known: x_proj.dt, x_proj.B, x_proj.C, x_proj, dt_proj, in_proj, out_proj)");
        };
    }

    static LoraTarget of(String name, Mamba2Config c) {
        return switch (name) {
            case "in_proj" -> new LoraTarget(name, "in_proj", 0, c.inProjDim(), c.modelDim());
            case "out_proj" -> new LoraTarget(name, "out_proj", 0, c.modelDim(), c.innerDim());
            default -> throw new StatetuneException("LoRA target '" + name + "' is not in a Mamba-2 mixer (known: in_proj, out_proj; "
                    + "pass --lora-targets in_proj,out_proj)");
        };
    }

    /** Hugging Face PEFT's key for whole modules (so such adapters move between the two); parts keep their dotted name. */
    String key(int layer, String which) {
        return "base_model.model.backbone.layers." + layer + ".mixer." + name + ".lora_" + which + ".weight";
    }
}
