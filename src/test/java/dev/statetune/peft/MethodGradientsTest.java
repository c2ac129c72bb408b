package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LoRA (every target), Prefix-Tuning, Prompt Tuning and Additional-scan composed in one model:
 * the loss and every gradient against PyTorch autograd on the plain-PyTorch mixer of
 * scripts/reference/mamba1_method_grads.py (random values for all of their parameters).
 */
class MethodGradientsTest {
    @Test
    void lossAndGradientsMatchPyTorchAutograd() {
        MethodOptions options = new MethodOptions(4, 8, 0, List.of("x_proj.dt", "x_proj.B", "x_proj.C", "dt_proj", "in_proj", "out_proj"),
                2, false, 2);
        try (CpuBackend cpu = new CpuBackend(2);
             SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/methods.reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), cpu)) {
            Adapter adapter = Adapter.create(lm, List.of(Method.LORA, Method.PREFIX, Method.PROMPT, Method.ADDITIONAL_SCAN), options);
            for (Parameter p : adapter.parameters()) System.arraycopy(ref.get(p.name).toFloatArray(), 0, p.value, 0, p.value.length);
            adapter.attach(lm);
            int[][] ids = Fixtures.ids(ref.get("input_ids")), labels = Fixtures.ids(ref.get("labels"));
            assertEquals(ref.get("loss").getFloat(0), lm.loss(ids, labels, true).meanLoss(), 2e-5);
            Map<String, Double> worstByKind = new TreeMap<>();
            for (Parameter p : adapter.parameters()) {
                float[] expected = ref.get("grad." + p.name).toFloatArray();
                Fixtures.assertClose(expected, p.grad, 2e-5, 2e-3, "grad of " + p.name);
                String kind = p.name.contains("lora") ? "lora" : p.name.contains("prefix") ? "prefix" : p.name.contains("prompt") ? "prompt" : "additional-scan";
                worstByKind.merge(kind, Fixtures.maxAbsDiff(expected, p.grad), Math::max);
            }
            worstByKind.forEach((kind, worst) -> System.out.printf("%-16s max |grad diff| vs PyTorch = %.2e%n", kind, worst));
        }
    }
}
