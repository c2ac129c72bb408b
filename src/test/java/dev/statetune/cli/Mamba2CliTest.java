package dev.statetune.cli;

import dev.statetune.Fixtures;
import dev.statetune.SharedData;
import dev.statetune.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static dev.statetune.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.*;

/** The inference commands on the Mamba-2 tiny fixture: ModelOptions picks the model from config.json's model_type. */
class Mamba2CliTest {
    static final String MODEL = Fixtures.resource("fixtures/mamba2/tiny").toString();
    static final Path REFERENCE = Fixtures.resource("fixtures/mamba2/tiny.reference.safetensors");

    @TempDir Path dir;

    @Test
    void infoDescribesAMamba2Checkpoint() {
        var json = run("info", "--json", "--model", MODEL);
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"architecture\" : \"mamba2\""), json.out());
        assertTrue(json.out().contains("\"parameters\" : 154568"), json.out());   // the stored tensors' sizes summed (tied lm_head)
        var text = run("info", "--model", MODEL);
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("Mamba-2, 3 layers, d_model 64, d_inner 128 (8 heads × 16), 2 groups, d_state 16"), text.out());
    }

    @Test
    void logitsEqualTransformersThroughTheCli() throws Exception {
        try (SafeTensors ref = SafeTensors.open(REFERENCE)) {
            int[][] ids = Fixtures.ids(ref.get("ids_b"));
            String spec = Arrays.stream(ids).map(s -> Arrays.stream(s).mapToObj(String::valueOf).collect(Collectors.joining(",")))
                    .collect(Collectors.joining(";"));
            Path out = dir.resolve("logits.safetensors");
            var r = run("logits", "--model", MODEL, "--prompt-ids", spec, "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            try (SafeTensors got = SafeTensors.open(out)) {
                assertArrayEquals(new long[] {2, 13, 1000}, got.get("logits").shape());
                float[] expected = ref.get("logits_b").toFloatArray(), actual = got.get("logits").toFloatArray();
                System.out.printf("mamba2 tiny through `statetune logits`: max |logit diff| vs transformers = %.3g%n",
                        Fixtures.maxAbsDiff(expected, actual));
                Fixtures.assertClose(expected, actual, 1e-4, 0, "CLI logits");
            }
        }
    }

    @Test
    void greedyGenerateEqualsTransformers() {
        try (SafeTensors ref = SafeTensors.open(REFERENCE)) {
            int[] prompt = Fixtures.ids(ref.get("greedy_prompt"))[0], expected = Fixtures.ids(ref.get("greedy_ids"))[0];
            String ids = Arrays.stream(prompt).mapToObj(String::valueOf).collect(Collectors.joining(","));
            var r = run("generate", "--model", MODEL, "--prompt-ids", ids, "--max-new-tokens", String.valueOf(expected.length - prompt.length),
                    "--ignore-eos");
            assertEquals(0, r.code(), r.err());
            String want = Arrays.stream(expected, prompt.length, expected.length).mapToObj(String::valueOf).collect(Collectors.joining(","));
            assertEquals(want, r.out().strip());
        }
    }

    @Test
    void evalRunsTheTaskProtocolOnMamba2() {
        String tokenizer = Fixtures.tinyModel().resolve("tokenizer.json").toString();   // the same 1000-token vocabulary
        var rte = run("eval", "--model", MODEL, "--tokenizer", tokenizer, "--task", "glue/rte", "--data", SharedData.path("glue/RTE").toString(),
                "--limit", "6", "--json");
        assertEquals(0, rte.code(), rte.err());
        assertTrue(rte.out().contains("\"examples\":6"), rte.out());
        var samsum = run("eval", "--model", MODEL, "--tokenizer", tokenizer, "--task", "samsum", "--data", SharedData.path("samsum").toString(),
                "--limit", "2", "--num-beams", "2", "--max-new-tokens", "4");
        assertEquals(0, samsum.code(), samsum.err());
        assertTrue(samsum.out().contains("rougeLsum"), samsum.out());
    }

    @Test
    void trainWritesAMamba2AdapterThatGenerateAndLogitsUse() throws Exception {
        String tokenizer = Fixtures.tinyModel().resolve("tokenizer.json").toString();
        Path data = java.nio.file.Files.writeString(dir.resolve("train.jsonl"), """
                {"prompt": "The sea was", "completion": " calm"}
                {"prompt": "Call me", "completion": " Ishmael"}
                """);
        Path out = dir.resolve("run");
        var r = run("train", "--model", MODEL, "--tokenizer", tokenizer, "--method", "state-offset-h,lora", "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "3", "--batch-size", "2", "--lr", "1e-1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("steps 3, train loss"), r.out());
        assertTrue(r.err().contains("20,160 trainable parameters"), r.err());   // h′ 3·8·16·16 + LoRA 3·8·(64+328 + 128+64)
        String config = java.nio.file.Files.readString(out.resolve("adapter_config.json"));
        assertTrue(config.contains("\"in_proj\"") && config.contains("\"out_proj\""), config);   // Mamba-2's LoRA targets by default
        Path plain = dir.resolve("plain.safetensors"), tuned = dir.resolve("tuned.safetensors");
        assertEquals(0, run("logits", "--model", MODEL, "--prompt-ids", "3,141,59", "--out", plain.toString()).code());
        var withAdapter = run("logits", "--model", MODEL, "--adapter", out.toString(), "--prompt-ids", "3,141,59", "--out", tuned.toString());
        assertEquals(0, withAdapter.code(), withAdapter.err());
        try (SafeTensors a = SafeTensors.open(plain); SafeTensors b = SafeTensors.open(tuned)) {
            assertFalse(Arrays.equals(a.get("logits").toFloatArray(), b.get("logits").toFloatArray()), "the adapter changes the logits");
        }
        var refused = run("train", "--model", MODEL, "--tokenizer", tokenizer, "--method", "additional-scan", "--data", data.toString(),
                "--out", dir.resolve("p").toString(), "--max-steps", "1");
        assertEquals(1, refused.code(), refused.err());
        assertTrue(refused.err().strip().lines().count() == 1 && refused.err().contains("not available for Mamba-2"), refused.err());
    }

    @Test
    void beamGenerateRuns() {
        var r = run("generate", "--model", MODEL, "--prompt-ids", "3,141,59,26", "--max-new-tokens", "6", "--num-beams", "3");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().isBlank(), r.err());
    }
}
