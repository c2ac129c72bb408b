package dev.statetune.data;

import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * JSONL rows with the real GPT-NeoX tokenizer of the tiny model: both row kinds, the prompt masked
 * with exactly -100, eos appended, truncation, and one "file:line: reason" per kind of bad row.
 */
class JsonlDatasetTest {
    private static final int EOS = 0;
    private static Tokenizer tok;
    @TempDir Path dir;

    @BeforeAll
    static void loadTokenizer() {
        tok = Tokenizer.load(Path.of("src/main/resources/dev/statetune/tiny-mamba/tokenizer.json"));
    }

    private Path jsonl(String... lines) throws IOException {
        Path f = dir.resolve("train.jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    @Test
    void promptCompletionMasksThePromptAndAppendsEos() throws IOException {
        String prompt = "Is this positive? I loved it###", completion = "1";
        int[] p = tok.encode(prompt), c = tok.encode(completion);
        assertTrue(p.length > 3 && c.length == 1, "fixture assumption: a multi-token prompt, a one-token label");
        List<Example> ex = JsonlDataset.read(jsonl("{\"prompt\": \"" + prompt + "\", \"completion\": \"1\"}"), tok, EOS, false, 0, false);
        assertEquals(1, ex.size());
        int[] ids = ex.getFirst().inputIds(), labels = ex.getFirst().labels();
        assertEquals(p.length + 2, ids.length);
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], ids[i]);
            assertEquals(-100, labels[i], "prompt position " + i);
        }
        assertEquals(c[0], ids[p.length]);
        assertEquals(c[0], labels[p.length]);
        assertEquals(EOS, ids[p.length + 1]);
        assertEquals(EOS, labels[p.length + 1]);
    }

    @Test
    void promptAndCompletionAreTokenizedSeparately() throws IOException {
        // A prompt ending in a space keeps its own "Ġ" token instead of merging it into "Ġyes".
        int[] joint = tok.encode("Answer: yes"), a = tok.encode("Answer: "), b = tok.encode("yes");
        int[] separate = IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
        assertFalse(java.util.Arrays.equals(joint, separate), "fixture assumption: the two tokenizations differ");
        List<Example> ex = JsonlDataset.read(jsonl("{\"prompt\":\"Answer: \",\"completion\":\"yes\"}"), tok, EOS, true, 0, false);
        assertArrayEquals(separate, ex.getFirst().inputIds());
    }

    @Test
    void noEosLeavesTheCompletionAsItIs() throws IOException {
        List<Example> ex = JsonlDataset.read(jsonl("{\"prompt\":\"Label: \",\"completion\":\"2\"}"), tok, EOS, true, 0, false);
        int[] ids = ex.getFirst().inputIds();
        assertEquals(tok.encode("Label: ").length + tok.encode("2").length, ids.length);
        assertNotEquals(EOS, ids[ids.length - 1]);
    }

    @Test
    void truncationKeepsTheStart() throws IOException {
        String prompt = "one two", completion = " three four five six";
        int[] full = JsonlDataset.read(jsonl("{\"prompt\":\"" + prompt + "\",\"completion\":\"" + completion + "\"}"), tok, EOS, false, 0, false)
                .getFirst().inputIds();
        int keep = full.length - 2;
        Example cut = JsonlDataset.read(dir.resolve("train.jsonl"), tok, EOS, false, keep, false).getFirst();
        assertArrayEquals(java.util.Arrays.copyOf(full, keep), cut.inputIds());
        assertEquals(keep, cut.labels().length);
        assertNotEquals(EOS, cut.inputIds()[keep - 1], "the eos is cut with the end");
    }

    @Test
    void truncationThatLeavesNoTargetIsABadRow() throws IOException {
        int promptLen = tok.encode("a long prompt with several words").length;
        Path f = jsonl("{\"prompt\":\"a long prompt with several words\",\"completion\":\"x\"}");
        StatetuneException e = assertThrows(StatetuneException.class, () -> JsonlDataset.read(f, tok, EOS, false, promptLen, false));
        assertEquals(f + ":1: no target tokens within the first " + promptLen + " tokens", e.getMessage());
    }

    @Test
    void pretokenizedRowsAreTakenAsGiven() throws IOException {
        List<Example> ex = JsonlDataset.read(jsonl(
                "{\"input_ids\": [5, 6, 7, 0], \"labels\": [-100, -100, 7, 0]}",
                "",
                "{\"input_ids\": [9, 8], \"labels\": [9, 8], \"id\": \"extra fields are ignored\"}"), tok, EOS, false, 0, false);
        assertEquals(2, ex.size());
        assertArrayEquals(new int[] {5, 6, 7, 0}, ex.get(0).inputIds());
        assertArrayEquals(new int[] {-100, -100, 7, 0}, ex.get(0).labels());
        assertArrayEquals(new int[] {9, 8}, ex.get(1).labels());
    }

    @Test
    void bothKindsMayBeMixedInOneFile() throws IOException {
        List<Example> ex = JsonlDataset.read(jsonl(
                "{\"prompt\":\"q\",\"completion\":\"a\"}",
                "{\"input_ids\":[1,2],\"labels\":[1,2]}"), tok, EOS, false, 0, false);
        assertEquals(2, ex.size());
    }

    private void assertBadRow(String row, String reason) throws IOException {
        Path f = jsonl("{\"prompt\":\"fine\",\"completion\":\" row\"}", row);
        StatetuneException e = assertThrows(StatetuneException.class, () -> JsonlDataset.read(f, tok, EOS, false, 0, false));
        assertEquals(f + ":2: " + reason, e.getMessage());
    }

    @Test
    void notJson() throws IOException {
        Path f = jsonl("{\"prompt\": \"unterminated}");
        StatetuneException e = assertThrows(StatetuneException.class, () -> JsonlDataset.read(f, tok, EOS, false, 0, false));
        assertTrue(e.getMessage().startsWith(f + ":1: not valid JSON ("), e.getMessage());
    }

    @Test
    void trailingGarbageIsNotJson() throws IOException {
        Path f = jsonl("{\"prompt\":\"a\",\"completion\":\"b\"} extra");
        StatetuneException e = assertThrows(StatetuneException.class, () -> JsonlDataset.read(f, tok, EOS, false, 0, false));
        assertTrue(e.getMessage().startsWith(f + ":1: not valid JSON"), e.getMessage());
    }

    @Test
    void notAnObject() throws IOException {
        assertBadRow("[1, 2]", "expected a JSON object, got an array");
    }

    @Test
    void missingField() throws IOException {
        assertBadRow("{\"prompt\": \"only a prompt\"}", "missing \"completion\"");
        assertBadRow("{\"input_ids\": [1, 2]}", "missing \"labels\"");
        assertBadRow("{\"text\": \"neither kind\"}", "expected {\"prompt\", \"completion\"} or {\"input_ids\", \"labels\"}");
    }

    @Test
    void wrongTypes() throws IOException {
        assertBadRow("{\"prompt\": 3, \"completion\": \"x\"}", "\"prompt\" must be a string, got the number 3");
        assertBadRow("{\"prompt\": \"p\", \"completion\": null}", "\"completion\" must be a string, got null");
        assertBadRow("{\"input_ids\": \"1 2\", \"labels\": [1, 2]}", "\"input_ids\" must be an array of integers, got a string");
        assertBadRow("{\"input_ids\": [1, 2.5], \"labels\": [1, 2]}", "\"input_ids\"[1] must be an integer, got the number 2.5");
        assertBadRow("{\"input_ids\": [1, 2], \"labels\": [1, \"2\"]}", "\"labels\"[1] must be an integer, got a string");
    }

    @Test
    void idsOutsideTheVocabulary() throws IOException {
        assertBadRow("{\"input_ids\": [1, -100], \"labels\": [1, 2]}",
                "\"input_ids\"[1] = -100 is not a token id (vocabulary of " + tok.vocabSize() + ")");
        assertBadRow("{\"input_ids\": [1, 2], \"labels\": [1, " + tok.vocabSize() + "]}",
                "\"labels\"[1] = " + tok.vocabSize() + " is not a token id (vocabulary of " + tok.vocabSize() + ")");
    }

    @Test
    void lengthMismatch() throws IOException {
        assertBadRow("{\"input_ids\": [1, 2, 3], \"labels\": [1, 2]}", "\"labels\" has 2 entries but \"input_ids\" has 3");
    }

    @Test
    void emptyCompletionAndEmptyIds() throws IOException {
        assertBadRow("{\"prompt\": \"p\", \"completion\": \"\"}", "empty \"completion\"");
        assertBadRow("{\"input_ids\": [], \"labels\": []}", "empty \"input_ids\"");
    }

    @Test
    void noTargets() throws IOException {
        assertBadRow("{\"input_ids\": [1, 2], \"labels\": [-100, -100]}", "no target tokens (every label is -100)");
    }

    @Test
    void bothKindsInOneRow() throws IOException {
        assertBadRow("{\"prompt\": \"p\", \"completion\": \"c\", \"input_ids\": [1, 2], \"labels\": [1, 2]}",
                "has both prompt/completion and input_ids/labels; use one kind per row");
    }

    @Test
    void skipModeCountsBadRowsAndReportsThemOnce() throws IOException {
        Path f = jsonl(
                "{\"prompt\":\"a\",\"completion\":\"b\"}",
                "not json",
                "{\"prompt\":\"c\"}",
                "{\"input_ids\":[1,2],\"labels\":[1,2]}",
                "{\"input_ids\":[1],\"labels\":[1,2]}");
        JsonlDataset.Loaded loaded = JsonlDataset.load(f, tok, EOS, false, 0, true);
        assertEquals(2, loaded.examples().size());
        assertEquals(3, loaded.skipped().size());
        assertTrue(loaded.skipped().get(0).startsWith("line 2: not valid JSON"), loaded.skipped().get(0));
        assertEquals("line 3: missing \"completion\"", loaded.skipped().get(1));
        assertEquals("line 5: \"labels\" has 2 entries but \"input_ids\" has 1", loaded.skipped().get(2));

        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, JsonlDataset.read(f, tok, EOS, false, 0, true).size());
        } finally {
            System.setErr(err);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith(f + ": skipped 3 malformed rows (first: line 2: not valid JSON"), out);
    }

    @Test
    void aFileWithNoUsableRowsIsAnError() throws IOException {
        Path f = jsonl("bad");
        StatetuneException e = assertThrows(StatetuneException.class, () -> JsonlDataset.read(f, tok, EOS, false, 0, true));
        assertEquals(f + ": no usable rows", e.getMessage());
        assertThrows(StatetuneException.class, () -> JsonlDataset.read(dir.resolve("absent.jsonl"), tok, EOS, false, 0, false));
    }
}
