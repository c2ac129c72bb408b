package dev.statetune.model.mamba2;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.model.DecodeState;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Logits and greedy continuations against transformers' Mamba2ForCausalLM (its torch path, fp32,
 * CPU), from the fixtures of scripts/reference/mamba2_fixtures.py: a 2-group model, a bf16 biased
 * untied variant with a dt clamp, and the variant in the state-spaces layout.
 */
class Mamba2ParityTest {
    static final CpuBackend BACKEND = new CpuBackend(2);

    @AfterAll
    static void close() { BACKEND.close(); }

    static Mamba2LM open(String name) {
        return new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/" + name)), BACKEND);
    }

    static SafeTensors reference(String name) {
        return SafeTensors.open(Fixtures.resource("fixtures/mamba2/" + name + ".reference.safetensors"));
    }

    @ParameterizedTest(name = "{0} vs {1}")
    @CsvSource({"tiny, tiny", "variant, variant", "variant-original, variant"})
    void logitsMatchTransformers(String modelName, String referenceName) {
        try (SafeTensors ref = reference(referenceName); Mamba2LM lm = open(modelName)) {
            for (String batch : new String[] {"a", "b"}) {
                int[][] ids = Fixtures.ids(ref.get("ids_" + batch));
                float[] expected = ref.get("logits_" + batch).toFloatArray();
                float[] actual = lm.forward(ids, lm.newState(ids.length)).toFloatArray();
                System.out.printf("mamba2 %s batch %s (%d×%d): max |logit diff| vs transformers = %.3g%n", modelName, batch,
                        ids.length, ids[0].length, Fixtures.maxAbsDiff(expected, actual));
                Fixtures.assertClose(expected, actual, 1e-4, 0, modelName + " logits_" + batch);
            }
        }
    }

    /**
     * The prompt's forward, then one step per token. transformers' own decode step skips the dt
     * clamp (time_step_limit), so for the clamped variant the reference is its argmax loop over
     * full forwards (greedy_loop_ids); for tiny, generate() and that loop agree.
     */
    @ParameterizedTest
    @CsvSource({"tiny, tiny, greedy_ids", "variant, variant, greedy_loop_ids", "variant-original, variant, greedy_loop_ids"})
    void greedyStepsMatchTransformers(String modelName, String referenceName, String key) {
        try (SafeTensors ref = reference(referenceName); Mamba2LM lm = open(modelName)) {
            int[][] prompt = Fixtures.ids(ref.get("greedy_prompt")), expected = Fixtures.ids(ref.get(key));
            int b = prompt.length, p = prompt[0].length, total = expected[0].length, v = lm.config().vocabSize();
            DecodeState state = lm.newState(b);
            float[] logits = lm.forward(prompt, state).toFloatArray();
            int[][] got = new int[b][];
            int[] next = new int[b];
            for (int s = 0; s < b; s++) {
                got[s] = java.util.Arrays.copyOf(prompt[s], total);
                next[s] = argmax(logits, (s * p + p - 1) * v, v);
            }
            for (int t = p; t < total; t++) {
                for (int s = 0; s < b; s++) got[s][t] = next[s];
                float[] stepped = lm.step(next, state).toFloatArray();
                for (int s = 0; s < b; s++) next[s] = argmax(stepped, s * v, v);
            }
            for (int s = 0; s < b; s++) assertArrayEquals(expected[s], got[s], "sequence " + s);
        }
    }

    @Test
    void bothLayoutsGiveIdenticalLogits() {
        int[][] ids = {{3, 141, 59, 26, 535, 89, 79, 323, 846, 17, 4}};
        try (Mamba2LM hf = open("variant"); Mamba2LM original = open("variant-original")) {
            assertArrayEquals(hf.forward(ids, hf.newState(1)).toFloatArray(), original.forward(ids, original.newState(1)).toFloatArray());
        }
    }

    @ParameterizedTest
    @CsvSource({"tiny", "variant"})
    void stepByStepEqualsWholeSequence(String modelName) {
        try (SafeTensors ref = reference(modelName); Mamba2LM lm = open(modelName)) {
            int[][] ids = Fixtures.ids(ref.get("ids_b"));
            float[] whole = lm.forward(ids, lm.newState(ids.length)).toFloatArray();
            DecodeState state = lm.newState(ids.length);
            float[] stepped = Fixtures.stepwiseLogits(ids, lm.config().vocabSize(), column -> lm.step(column, state).toFloatArray());
            Fixtures.assertClose(whole, stepped, 1e-5, 1e-5, "step vs whole sequence");
        }
    }

    @Test
    void splitSequenceContinuesFromTheState() {
        try (SafeTensors ref = reference("tiny"); Mamba2LM lm = open("tiny")) {
            int[][] ids = Fixtures.ids(ref.get("ids_a"));
            int b = ids.length, l = ids[0].length, cut = 19, v = lm.config().vocabSize();
            float[] whole = lm.forward(ids, lm.newState(b)).toFloatArray();
            DecodeState state = lm.newState(b);
            int[][] head = new int[b][], tail = new int[b][];
            for (int s = 0; s < b; s++) {
                head[s] = java.util.Arrays.copyOfRange(ids[s], 0, cut);
                tail[s] = java.util.Arrays.copyOfRange(ids[s], cut, l);
            }
            lm.forward(head, state);
            float[] rest = lm.forward(tail, state).toFloatArray(), expected = new float[rest.length];
            for (int s = 0; s < b; s++) System.arraycopy(whole, (s * l + cut) * v, expected, s * (l - cut) * v, (l - cut) * v);
            Fixtures.assertClose(expected, rest, 1e-5, 1e-5, "continued forward");
        }
    }

    static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }
}
