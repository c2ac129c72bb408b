package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Malformed task files give one StatetuneException line naming the file and line: missing files, TSV
 * rows with the wrong number of cells, unknown labels, missing JSON fields, unknown databases; and the
 * registry's unknown names and splits. Uses the tiny model's NeoX tokenizer so it runs without shared data.
 */
class TaskErrorsTest {
    private static Tokenizer tok;
    @TempDir Path dir;

    @BeforeAll
    static void loadTokenizer() {
        tok = Tokenizer.load(Path.of("src/main/resources/dev/statetune/tiny-mamba/tokenizer.json"));
    }

    private String error(String task, String split) {
        return assertThrows(StatetuneException.class, () -> Tasks.byName(task).read(dir, split, tok)).getMessage();
    }

    private void write(String name, String text) throws IOException {
        Files.writeString(dir.resolve(name), text);
    }

    @Test
    void registryKnowsThePapersTasks() {
        assertEquals(List.of("glue/cola", "glue/sst2", "glue/mrpc", "glue/qqp", "glue/stsb", "glue/mnli",
                "glue/qnli", "glue/rte", "glue/wnli", "samsum", "spider", "dart"), Tasks.names());
        String message = assertThrows(StatetuneException.class, () -> Tasks.byName("glue/sst-2")).getMessage();
        assertTrue(message.startsWith("unknown task \"glue/sst-2\" (tasks: glue/cola, "), message);
    }

    @Test
    void unknownSplit() {
        assertEquals("glue/rte has no split \"test\" (splits: train, dev)", error("glue/rte", "test"));
        assertEquals("spider has no split \"validation\" (splits: train, dev)", error("spider", "validation"));
    }

    @Test
    void missingFile() {
        assertEquals(dir.resolve("dev.tsv") + ": not found", error("glue/rte", "dev"));
        assertEquals(dir.resolve("validation.json") + ": not found", error("samsum", "validation"));
        assertEquals(dir.resolve("dart-v1.1.1-full-dev.json") + ": not found", error("dart", "dev"));
        assertEquals(dir.resolve("tables.json") + ": not found", error("spider", "dev"));
    }

    @Test
    void tsvRowWithTheWrongNumberOfCells() throws IOException {
        write("train.tsv", "gj04\t1\t\tFine.\ngj04\t1\tMissing a cell.\n");
        assertEquals(dir.resolve("train.tsv") + ":2: 3 tab-separated cells, expected 4 (source, label, original_mark, sentence)",
                error("glue/cola", "train"));
    }

    @Test
    void unknownLabels() throws IOException {
        write("dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n\n1\tA.\tB.\tcontradiction\n");
        assertEquals(dir.resolve("dev.tsv") + ":4: label \"contradiction\" is not one of entailment, not_entailment",
                error("glue/rte", "dev"));
        write("dev.tsv", "sentence\tlabel\nGood .\t2\n");
        assertEquals(dir.resolve("dev.tsv") + ":2: label \"2\" is not one of 0..1", error("glue/sst2", "dev"));
        write("dev.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                + "0\tg\tf\ty\to\tn\tn\tA.\tB.\t5.2\n");
        assertEquals(dir.resolve("dev.tsv") + ":2: score 5.2 is outside 0..5", error("glue/stsb", "dev"));
    }

    @Test
    void headerWithoutTheNeededColumn() throws IOException {
        write("dev.tsv", "\uFEFFQuality\t#1 ID\t#2 ID\t#1 Sentence\t#2 Sentence\n1\t1\t2\tA.\tB.\n");
        assertEquals(dir.resolve("dev.tsv") + ":1: no column \"#1 String\" in the header (Quality, #1 ID, #2 ID, #1 Sentence, #2 Sentence)",
                error("glue/mrpc", "dev"));
    }

    @Test
    void jsonRowsMissingAField() throws IOException {
        write("validation.jsonl", "{\"dialogue\": \"A: hi\", \"summary\": \"A greets.\"}\n{\"dialogue\": \"B: bye\"}\n");
        assertEquals(dir.resolve("validation.jsonl") + ":2: missing \"summary\"", error("samsum", "validation"));
        write("dart-v1.1.1-full-dev.json", "[\n  {\"tripleset\": [[\"a\", \"b\", \"c\"]], \"annotations\": [{\"text\": \"t\"}]},\n"
                + "  {\"tripleset\": [[\"a\", \"b\", \"c\"]], \"annotations\": []}\n]\n");
        assertEquals(dir.resolve("dart-v1.1.1-full-dev.json") + ":3: no annotations", error("dart", "dev"));
    }

    @Test
    void brokenJson() throws IOException {
        write("validation.jsonl", "{\"dialogue\": \"A: hi\", \"summary\": \"A greets.\"}\n{\"dialogue\": \n");
        assertTrue(error("samsum", "validation").startsWith(dir.resolve("validation.jsonl") + ":2: not valid JSON"));
    }

    @Test
    void spiderQuestionWithAnUnknownDatabaseOrNoQuery() throws IOException {
        write("tables.json", """
                [{"db_id": "shop", "table_names_original": ["Item"], "column_names_original": [[-1, "*"], [0, "ID"]],
                  "column_types": ["text", "number"], "primary_keys": [1], "foreign_keys": []}]
                """);
        write("dev.json", "[\n{\"db_id\": \"shop\", \"question\": \"How many?\", \"query\": \"SELECT 1\"},\n"
                + "{\"db_id\": \"farm\", \"question\": \"How many?\", \"query\": \"SELECT 1\"}\n]");
        assertEquals(dir.resolve("dev.json") + ":3: db_id \"farm\" is not in " + dir.resolve("tables.json"), error("spider", "dev"));
        write("dev.json", "[{\"db_id\": \"shop\", \"question\": \"How many?\"}]");
        assertEquals(dir.resolve("dev.json") + ":1: missing \"query\"", error("spider", "dev"));
    }
}
