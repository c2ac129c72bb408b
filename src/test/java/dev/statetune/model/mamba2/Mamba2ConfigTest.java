package dev.statetune.model.mamba2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.Fixtures;
import dev.statetune.StatetuneException;
import dev.statetune.backend.SsdDims;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mamba2Config from both layouts, the ways infinity is written, and one clear line per bad config. */
class Mamba2ConfigTest {
    static final Path FILE = Path.of("m", "config.json");
    static final String HF = """
            {"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 3, "vocab_size": 1000, "num_heads": 8,
             "head_dim": 16, "expand": 2, "n_groups": 2, "state_size": 16, "chunk_size": 8, "conv_kernel": 4%s}""";

    static JsonNode json(String text) {
        try {
            return new ObjectMapper().readTree(text);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void huggingFaceFixture() {
        try (Checkpoint ckpt = Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny"))) {
            assertEquals("mamba2", ckpt.modelType());
            Mamba2Config c = Mamba2Config.fromJson(ckpt.configJson(), ckpt.dir().resolve("config.json"));
            assertEquals(new Mamba2Config(64, 3, 1000, new SsdDims(8, 16, 2, 16, 8), 4, false, false, 1e-6f, 128, 1e-6f,
                    0f, Float.POSITIVE_INFINITY, true, 0), c);
            assertEquals(128 + 192 + 8, c.inProjDim());
        }
    }

    @Test
    void stateSpacesFixture() {
        try (Checkpoint ckpt = Checkpoint.open(Fixtures.resource("fixtures/mamba2/variant-original"))) {
            Mamba2Config c = Mamba2Config.fromJson(ckpt.configJson(), ckpt.dir().resolve("config.json"));
            assertEquals(new Mamba2Config(48, 2, 1000, new SsdDims(4, 24, 1, 8, 8), 3, true, true, 1e-5f, 96, 1e-5f,
                    0.05f, 0.8f, false, 0), c);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"[0.0, Infinity]", "[0.0, {\"__float__\": \"Infinity\"}]", "[0, \"Infinity\"]"})
    void infinityInEveryForm(String limit, @TempDir Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, HF.formatted(", \"time_step_limit\": " + limit));
        Mamba2Config c = Mamba2Config.fromJson(Checkpoint.readJson(file), file);
        assertEquals(Float.POSITIVE_INFINITY, c.dtMax());
        assertEquals(0f, c.dtMin());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            ", \"num_heads\": 7 | hidden_size · expand (128) must equal num_heads · head_dim (112)",
            ", \"n_groups\": 3 | 8 heads do not split into 3 groups",
            ", \"time_step_limit\": [0.5] | 'time_step_limit' must be [min, max]",
            ", \"time_step_limit\": [0.5, \"x\"] | 'time_step_limit' must be [min, max]",
            ", \"time_step_limit\": [0.5, 0.1] | 'time_step_limit' has min > max",
            ", \"state_size\": \"big\" | missing or non-integer 'state_size'",
            ", \"state_size\": 0 | must be positive"})
    void badHuggingFaceConfigs(String extra, String message) {
        String text = HF.formatted("").replace("\"conv_kernel\": 4", "\"conv_kernel\": 4" + extra);
        assertOneLine(assertThrows(StatetuneException.class, () -> Mamba2Config.fromJson(json(text), FILE)), message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"model_type\": \"mamba2\", \"num_hidden_layers\": 2, \"vocab_size\": 10} | missing or non-integer 'hidden_size'",
            "{\"model_type\": \"llama\"} | model_type 'llama' is not supported (expected 'mamba2')",
            "{\"d_model\": 48, \"n_layer\": 2, \"vocab_size\": 10} | neither a Hugging Face Mamba-2 config",
            "{\"d_model\": 48, \"n_layer\": 2, \"vocab_size\": 10, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"norm_before_gate\": true}} | only the default Mamba2 mixer",
            "{\"d_model\": 48, \"n_layer\": 2, \"vocab_size\": 10, \"d_intermediate\": 96, \"ssm_cfg\": {\"layer\": \"Mamba2\"}} | MLP or attention layers",
            "{\"d_model\": 48, \"n_layer\": 2, \"vocab_size\": 10, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 64}} | not a multiple of headdim 64"})
    void badConfigs(String text, String message) {
        assertOneLine(assertThrows(StatetuneException.class, () -> Mamba2Config.fromJson(json(text), FILE)), message);
    }

    @Test
    void eachModelRefusesTheOtherGeneration() {
        try (Checkpoint ckpt = Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny"))) {
            assertOneLine(assertThrows(StatetuneException.class, ckpt::config), "a Mamba-2 checkpoint, where a Mamba-1 one is expected");
        }
        try (CpuBackend cpu = new CpuBackend(1); Checkpoint ckpt = Checkpoint.open(Fixtures.resource("fixtures/mamba1/variant"))) {
            assertEquals("mamba", ckpt.modelType());
            assertOneLine(assertThrows(StatetuneException.class, () -> new Mamba2LM(ckpt, cpu)), "not a Mamba-2 checkpoint");
        }
    }

    static void assertOneLine(StatetuneException e, String part) {
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
    }
}
