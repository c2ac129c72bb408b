package dev.statetune.tokenizer;

import dev.statetune.SharedData;
import dev.statetune.Fixtures;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Behaviour that needs no oracle: round trips, special tokens in decode, the vocabulary queries,
 * concurrent use, both spellings of merges, and the errors for broken or unsupported files. Uses the tiny-mamba
 * tokenizer shipped in resources, and GPT-NeoX's where the shared data is present.
 */
class TokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TEXTS = List.of("", "Hello world", "  two  spaces  ", "cafe\u0301 Å ﬁ",
            "I'm DON'T\r\n\tx", "日本語 👨‍👩‍👧 🇫🇷", "<|endoftext|>a<|padding|> b", "\u00A0\u3000", "a".repeat(1000));

    @TempDir
    Path dir;

    @Test
    void decodeOfEncodeIsTheNfcText() {
        assertRoundTrips(tiny());
    }

    @Test
    void decodeOfEncodeIsTheNfcTextForNeox() {
        assertRoundTrips(Tokenizer.load(SharedData.neoxTokenizerFile()));
    }

    private static void assertRoundTrips(Tokenizer tokenizer) {
        for (String text : TEXTS) {
            assertEquals(Normalizer.normalize(text, Normalizer.Form.NFC), tokenizer.decode(tokenizer.encode(text)),
                    () -> Agreement.escape(text));
        }
    }

    @Test
    void specialTokensAreKeptOrSkippedInDecode() {
        Tokenizer neox = Tokenizer.load(SharedData.neoxTokenizerFile());
        int[] ids = neox.encode("<|endoftext|>Hello  world<|padding|>");
        assertArrayEquals(new int[] {0, 12092, 50276, 10186, 1}, ids);
        assertEquals("<|endoftext|>Hello  world<|padding|>", neox.decode(ids));
        // The whitespace-run tokens are added but not special: skipping keeps them.
        assertEquals("Hello  world", neox.decode(ids, true));
    }

    @Test
    void vocabularyQueries() {
        Tokenizer neox = Tokenizer.load(SharedData.neoxTokenizerFile());
        assertEquals(50_277, neox.vocabSize());
        assertEquals(OptionalInt.of(0), neox.tokenId("<|endoftext|>"));
        assertEquals(OptionalInt.of(50_276), neox.tokenId("  "));
        assertEquals(OptionalInt.of(50_254), neox.tokenId(" ".repeat(24)));
        assertEquals(OptionalInt.of(12_092), neox.tokenId("Hello"));
        assertEquals(OptionalInt.empty(), neox.tokenId("not a token"));
        assertEquals("<|padding|>", neox.token(1));
        assertEquals("Ġworld", neox.token(1533));
        assertEquals("  ", neox.token(50_276));
        assertEquals(1_000, tiny().vocabSize());
    }

    @Test
    void unknownIdsAreRejectedNamingTheFile() {
        Path file = SharedData.neoxTokenizerFile();
        Tokenizer neox = Tokenizer.load(file);
        var e = assertThrows(StatetuneException.class, () -> neox.decode(new int[] {5, 123_456}));
        assertEquals("token id 123456 is outside the vocabulary (0..50276) of " + file, e.getMessage());
        assertThrows(StatetuneException.class, () -> neox.decode(new int[] {-1}, true));
        assertThrows(StatetuneException.class, () -> neox.token(50_277));
    }

    /** One tokenizer (and its word cache) shared by several threads gives each the sequential ids. */
    @Test
    void concurrentEncoding() throws Exception {
        Tokenizer tokenizer = tiny();
        List<String> texts = new ArrayList<>();
        Random random = new Random(1);
        for (int i = 0; i < 2_000; i++) {
            texts.add(random.ints(20, 'a', 'z' + 3).mapToObj(c -> c > 'z' ? " " : Character.toString(c))
                    .collect(Collectors.joining()));
        }
        List<int[]> expected = texts.stream().map(tiny()::encode).toList();
        try (var pool = Executors.newFixedThreadPool(4)) {
            var runs = new ArrayList<Future<?>>();
            for (int t = 0; t < 4; t++) {
                runs.add(pool.submit(() -> {
                    for (int i = 0; i < texts.size(); i++) {
                        assertArrayEquals(expected.get(i), tokenizer.encode(texts.get(i)), texts.get(i));
                    }
                }));
            }
            for (var run : runs) {
                run.get();
            }
        }
    }

    /** Older files spell merges "a b", newer ones ["a", "b"]: both give the same tokenizer. */
    @Test
    void bothMergeSpellings() throws IOException {
        ObjectNode json = tinyJson();
        ArrayNode asStrings = JSON.createArrayNode();
        json.withArray("/model/merges").forEach(pair -> asStrings.add(pair.get(0).asText() + " " + pair.get(1).asText()));
        assertTrue(json.at("/model/merges/0").isArray());
        ((ObjectNode) json.get("model")).set("merges", asStrings);
        Tokenizer legacy = Tokenizer.load(write(json));
        for (String text : TEXTS) {
            assertArrayEquals(tiny().encode(text), legacy.encode(text), () -> Agreement.escape(text));
        }
    }

    @Test
    void malformedJson() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\",");
        assertProblem(file, "not valid JSON");
    }

    @Test
    void missingModel() throws IOException {
        ObjectNode json = tinyJson();
        json.remove("model");
        assertProblem(write(json), "has no \"model\"");
    }

    @Test
    void unknownModelType() throws IOException {
        ObjectNode json = tinyJson();
        ((ObjectNode) json.get("model")).put("type", "WordPiece");
        assertProblem(write(json), "model type \"WordPiece\" is not supported");
    }

    @Test
    void unsupportedNormalizer() throws IOException {
        ObjectNode json = tinyJson();
        ((ObjectNode) json.get("normalizer")).put("type", "Lowercase");
        assertProblem(write(json), "normalizer \"Lowercase\" is not supported");
    }

    @Test
    void mergeOfUnknownTokens() throws IOException {
        ObjectNode json = tinyJson();
        ((ArrayNode) json.at("/model/merges")).insertArray(0).add("zz").add("qq");
        assertProblem(write(json), "merge 1 uses \"zz\", which is not in the vocabulary");
    }

    @Test
    void missingFile() {
        assertProblem(dir.resolve("absent.json"), "no such file");
    }

    private static void assertProblem(Path file, String expected) {
        var e = assertThrows(StatetuneException.class, () -> Tokenizer.load(file));
        assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains(expected), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    static Tokenizer tiny() {
        return Tokenizer.load(Fixtures.tinyModel().resolve("tokenizer.json"));
    }

    private static ObjectNode tinyJson() throws IOException {
        try (InputStream in = Files.newInputStream(Fixtures.tinyModel().resolve("tokenizer.json"))) {
            return (ObjectNode) JSON.readTree(in);
        }
    }

    private Path write(ObjectNode json) throws IOException {
        Path file = Files.createTempFile(dir, "tokenizer", ".json");
        JSON.writeValue(file.toFile(), json);
        return file;
    }
}
