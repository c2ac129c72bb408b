package dev.statetune.cli;

import static dev.statetune.cli.CliRunner.run;

import dev.statetune.Fixtures;
import dev.statetune.io.SafeTensors;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Bad input through the CLI: exit code 1 and one line naming the file and the problem, never a stack trace. */
class CliErrorsTest {
    @TempDir Path dir;

    static void assertUserError(CliRunner.Result r, String... expected) {
        assertEquals(1, r.code(), "exit code; stderr: " + r.err());
        String line = r.err().strip();
        assertFalse(line.contains("\n"), "one line: " + r.err());
        assertTrue(line.startsWith("statetune: "), line);
        assertFalse(line.contains("Exception"), "no exception class names: " + line);
        for (String e : expected) assertTrue(line.contains(e), "says '" + e + "': " + line);
    }

    /** A copy of the built-in tiny model in a temp dir, to break. */
    private Path tinyCopy() throws IOException {
        Path m = dir.resolve("model");
        Files.createDirectories(m);
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"})
            Files.copy(Fixtures.tinyModel().resolve(f), m.resolve(f));
        return m;
    }

    @Test
    void corruptSafetensors() throws IOException {
        Path m = tinyCopy();
        byte[] bytes = Files.readAllBytes(m.resolve("model.safetensors"));
        Files.write(m.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertUserError(run("info", "--model", m.toString()), "model.safetensors", "outside the");
    }

    @Test
    void missingTensor() throws IOException {
        Path m = tinyCopy();
        Map<String, Tensor> kept = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
            st.tensors().forEach((k, v) -> { if (!k.equals("backbone.layers.1.mixer.D")) kept.put(k, v); });
            SafeTensorsWriter.write(m.resolve("model.safetensors"), kept, Map.of());
        }
        assertUserError(run("logits", "--model", m.toString(), "--prompt-ids", "1,2", "--out", dir.resolve("l.st").toString()),
                m.toString(), "missing tensor backbone.layers.1.mixer.D");
    }

    @Test
    void unknownModelType() throws IOException {
        Path m = tinyCopy();
        Files.writeString(m.resolve("config.json"), Files.readString(m.resolve("config.json")).replace("\"mamba\"", "\"llama\""));
        assertUserError(run("info", "--model", m.toString()), "config.json", "model_type 'llama' is not supported");
    }

    @Test
    void malformedConfig() throws IOException {
        Path m = tinyCopy();
        Files.writeString(m.resolve("config.json"), "{\"model_type\": \"mamba\", ");
        assertUserError(run("info", "--model", m.toString()), "config.json", "malformed JSON");
    }

    @Test
    void malformedTokenizer() throws IOException {
        Path bad = dir.resolve("tokenizer.json");
        Files.writeString(bad, "{\"model\": {\"type\": \"BPE\", \"vocab\": [");
        assertUserError(run("tokenize", "--tokenizer", bad.toString(), "--text", "hi"), "tokenizer.json");
    }

    @Test
    void promptIdsOutsideTheVocabulary() {
        assertUserError(run("generate", "--prompt-ids", "5,1000", "--max-new-tokens", "2"), "token id 1000 is outside the vocabulary (0..999)");
        assertUserError(run("logits", "--prompt-ids", "5,-1", "--out", dir.resolve("l.st").toString()), "token id -1");
    }

    @Test
    void missingModelDirectory() {
        assertUserError(run("info", "--model", dir.resolve("nope").toString()), "nope", "not a directory");
    }

    @Test
    void unknownFlagIsAUsageError() {
        CliRunner.Result r = run("generate", "--no-such-flag");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Unknown option: '--no-such-flag'"), r.err());
    }
}
