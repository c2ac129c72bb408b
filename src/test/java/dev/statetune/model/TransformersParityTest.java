package dev.statetune.model;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Logits and greedy continuations against transformers' MambaForCausalLM (fp32, CPU), from the
 * fixtures written by scripts/reference/mamba1_fixtures.py: the HF layout, the state-spaces layout
 * of the same weights, and a bf16, sharded, biased, untied variant.
 */
class TransformersParityTest {
    static final CpuBackend BACKEND = new CpuBackend(2);

    @AfterAll
    static void close() { BACKEND.close(); }

    static Path model(String name) {
        return name.equals("tiny") ? Fixtures.tinyModel() : Fixtures.resource("fixtures/mamba1/" + name);
    }

    @ParameterizedTest(name = "{0} vs {1}")
    @CsvSource({"tiny, tiny", "tiny-original, tiny", "variant, variant"})
    void logitsMatchTransformers(String modelName, String referenceName) {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/" + referenceName + ".reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(model(modelName)), BACKEND)) {
            for (String batch : new String[] {"a", "b"}) {
                int[][] ids = Fixtures.ids(ref.get("ids_" + batch));
                Tensor logits = lm.forward(ids, lm.newState(ids.length));
                float[] expected = ref.get("logits_" + batch).toFloatArray();
                float[] actual = logits.toFloatArray();
                System.out.printf("%s batch %s: max |logit diff| vs transformers = %.3g%n", modelName, batch,
                        Fixtures.maxAbsDiff(expected, actual));
                Fixtures.assertClose(expected, actual, 1e-4, 0, modelName + " logits_" + batch);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"tiny, tiny", "tiny-original, tiny", "variant, variant"})
    void greedyMatchesTransformers(String modelName, String referenceName) {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/" + referenceName + ".reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(model(modelName)), BACKEND)) {
            int[] prompt = Fixtures.ids(ref.get("greedy_prompt"))[0];
            int[] expected = Fixtures.ids(ref.get("greedy_ids"))[0];
            DecodeState state = lm.newState(1);
            Tensor logits = lm.forward(new int[][] {prompt}, state);
            int[] got = java.util.Arrays.copyOf(prompt, expected.length);
            int next = argmax(LanguageModel.row(logits, prompt.length - 1));
            for (int t = prompt.length; t < expected.length; t++) {
                got[t] = next;
                next = argmax(LanguageModel.row(lm.step(new int[] {next}, state), 0));
            }
            assertArrayEquals(expected, got);
        }
    }

    @Test
    void bothLayoutsGiveIdenticalLogits() {
        int[][] ids = {{3, 141, 59, 26, 535, 89, 79, 323, 846}};
        try (MambaLM hf = new MambaLM(Checkpoint.open(model("tiny")), BACKEND);
             MambaLM original = new MambaLM(Checkpoint.open(model("tiny-original")), BACKEND)) {
            assertArrayEquals(hf.forward(ids, hf.newState(1)).toFloatArray(), original.forward(ids, original.newState(1)).toFloatArray());
        }
    }

    @Test
    void stepByStepEqualsWholeSequence() {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba1/variant.reference.safetensors"));
             MambaLM lm = new MambaLM(Checkpoint.open(model("variant")), BACKEND)) {
            int[][] ids = Fixtures.ids(ref.get("ids_a"));
            float[] whole = lm.forward(ids, lm.newState(ids.length)).toFloatArray();
            DecodeState state = lm.newState(ids.length);
            float[] stepped = Fixtures.stepwiseLogits(ids, lm.config().vocabSize(), column -> lm.step(column, state).toFloatArray());
            Fixtures.assertClose(whole, stepped, 1e-5, 1e-5, "step vs whole sequence");
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
