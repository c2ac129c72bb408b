package dev.statetune.model.mamba2;

import dev.statetune.Fixtures;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.model.TrainedWeight;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Mamba2LM's loss and hand-written backward against PyTorch autograd in float64, from
 * scripts/reference/mamba2_peft_grads.py (a plain-PyTorch Mamba-2 mixer checked against
 * transformers' Mamba2ForCausalLM, with h′, y′ and h0 on every layer): the loss, the seams'
 * gradients, and every weight's gradient for full fine-tuning, all at once.
 */
class Mamba2TorchGradientTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final String[] SEAMS = {"h_offset", "y_offset", "h0"};

    @AfterAll
    static void close() { CPU.close(); }

    @Test
    void lossSeamAndWeightGradientsMatchPyTorchAutograd() {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba2/peft.reference.safetensors"));
             Mamba2LM lm = Mamba2GradientTest.tiny(CPU)) {
            Mamba2Seams[] seams = new Mamba2Seams[lm.config().nLayers()];
            for (int i = 0; i < seams.length; i++) {
                Tensor[] v = new Tensor[3], g = new Tensor[3];
                for (int s = 0; s < 3; s++) {
                    Tensor t = ref.get("backbone.layers." + i + ".mixer." + SEAMS[s]);
                    v[s] = Tensor.of(t.toFloatArray(), t.shape());
                    g[s] = Tensor.zeros(t.shape());
                }
                seams[i] = new Mamba2Seams(v[0], v[1], v[2], g[0], g[1], g[2], java.util.List.of());
            }
            lm.setSeams(seams);
            Map<String, TrainedWeight> trained = Mamba2GradientTest.trainAll(lm);
            lm.setTrainedWeights(trained);
            int[][] ids = Fixtures.ids(ref.get("input_ids")), labels = Fixtures.ids(ref.get("labels"));
            LossResult r = lm.loss(ids, labels, true);
            double expectedLoss = ref.get("loss").toFloatArray()[0];
            System.out.printf("mamba2 loss %.7f, PyTorch (float64) %.7f%n", r.meanLoss(), expectedLoss);
            assertEquals(expectedLoss, r.meanLoss(), 2e-5);
            double worstSeam = 0, worstWeight = 0;
            for (int i = 0; i < seams.length; i++) {
                Tensor[] grads = {seams[i].dhOffset(), seams[i].dyOffset(), seams[i].dh0()};
                for (int s = 0; s < 3; s++) {
                    String key = "backbone.layers." + i + ".mixer." + SEAMS[s];
                    float[] expected = ref.get("grad." + key).toFloatArray(), actual = grads[s].toFloatArray();
                    worstSeam = Math.max(worstSeam, Fixtures.maxAbsDiff(expected, actual));
                    Fixtures.assertClose(expected, actual, 2e-5, 1e-3, "grad of " + key);
                }
            }
            for (var e : trained.entrySet()) {
                float[] expected = ref.get("grad." + e.getKey()).toFloatArray(), actual = e.getValue().grad().toFloatArray();
                worstWeight = Math.max(worstWeight, Fixtures.maxAbsDiff(expected, actual));
                Fixtures.assertClose(expected, actual, 2e-5, 2e-3, "grad of " + e.getKey());
            }
            System.out.printf("mamba2 vs PyTorch autograd: seam gradients max |diff| %.2e, %d weight gradients max |diff| %.2e%n",
                    worstSeam, trained.size(), worstWeight);
        }
    }
}
