package dev.statetune.model;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every stored dtype computes in fp32: the built-in model stored as F16 (converted once by the
 * backend) and as BF16 (read in place by the GEMM) gives the logits of an F32 checkpoint holding
 * the same rounded values.
 */
class StoredDtypeTest {
    @TempDir Path dir;

    @Test
    void f16AndBf16CheckpointsMatchTheirF32Rounding() throws IOException {
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            Map<String, Tensor> stored = new LinkedHashMap<>(), widened = new LinkedHashMap<>();
            try (SafeTensors st = SafeTensors.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
                st.tensors().forEach((name, t) -> {
                    float[] v = t.toFloatArray();
                    short[] half = new short[v.length];
                    for (int i = 0; i < v.length; i++) {
                        half[i] = dtype == DType.F16 ? Float.floatToFloat16(v[i]) : (short) (Float.floatToRawIntBits(v[i]) >>> 16);
                    }
                    Tensor h = new Tensor(MemorySegment.ofArray(half), dtype, t.shape());
                    stored.put(name, h);
                    widened.put(name, Tensor.of(h.toFloatArray(), t.shape()));
                });
            }
            Path low = write(dtype.name(), stored), wide = write(dtype.name() + "-as-f32", widened);
            int[][] ids = {{5, 17, 300, 999, 0, 42, 7}};
            try (CpuBackend cpu = new CpuBackend(2);
                 MambaLM a = new MambaLM(Checkpoint.open(low), cpu);
                 MambaLM b = new MambaLM(Checkpoint.open(wide), cpu)) {
                Fixtures.assertClose(b.forward(ids, b.newState(1)).toFloatArray(), a.forward(ids, a.newState(1)).toFloatArray(),
                        1e-5, 1e-5, dtype + " vs its F32 widening");
            }
        }
    }

    private Path write(String name, Map<String, Tensor> tensors) throws IOException {
        Path m = dir.resolve(name);
        Files.createDirectories(m);
        Files.copy(Fixtures.tinyModel().resolve("config.json"), m.resolve("config.json"));
        SafeTensorsWriter.write(m.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return m;
    }
}
