package dev.statetune.tensor;

import java.util.Optional;

/** Element types statetune reads and writes, with their safetensors names and sizes in bytes. */
public enum DType {
    F32("F32", 4), F16("F16", 2), BF16("BF16", 2), F64("F64", 8), I64("I64", 8), I32("I32", 4), U8("U8", 1);

    public final String safetensorsName;
    public final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) if (t.safetensorsName.equals(name)) return Optional.of(t);
        return Optional.empty();
    }
}
