package dev.statetune.tokenizer;

import dev.statetune.SharedData;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GPT-NeoX tokenizer against Hugging Face's on the project's real data: every line of the GLUE
 * TSVs, every SAMSum dialogue and summary, every Spider question, query and schema name, and
 * paragraphs of Gutenberg books (plus one whole book as a single text).
 */
class RealTextAgreementTest extends NeoxOracleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GUTENBERG_BOOKS = 4;

    private Path data;

    @BeforeAll
    void loadData() {
        data = SharedData.data();
    }

    @Test
    void glueEveryLine() throws IOException {
        Agreement agreement = new Agreement(ours, oracle);
        for (String task : List.of("CoLA", "SST-2", "MRPC", "RTE")) {
            for (String split : List.of("train", "dev")) {
                Path file = data.resolve("glue").resolve(task).resolve(split + ".tsv");
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                for (int i = 0; i < lines.size(); i++) {
                    agreement.check(file + ":" + (i + 1), lines.get(i));
                }
            }
        }
        report("GLUE lines", agreement);
    }

    @Test
    void samsumDialoguesAndSummaries() throws IOException {
        Agreement agreement = new Agreement(ours, oracle);
        Path file = data.resolve("samsum/validation.jsonl");
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            JsonNode example = JSON.readTree(lines.get(i));
            agreement.check(file + ":" + (i + 1) + " dialogue", example.get("dialogue").asText());
            agreement.check(file + ":" + (i + 1) + " summary", example.get("summary").asText());
        }
        report("SAMSum dialogues and summaries", agreement);
    }

    @Test
    void spiderQuestionsQueriesAndSchemas() throws IOException {
        Agreement agreement = new Agreement(ours, oracle);
        Path dev = data.resolve("spider/dev.json");
        int i = 0;
        for (JsonNode example : JSON.readTree(dev.toFile())) {
            agreement.check(dev + " #" + i + " question", example.get("question").asText());
            agreement.check(dev + " #" + i + " query", example.get("query").asText());
            i++;
        }
        Path tables = data.resolve("spider/tables.json");
        for (JsonNode db : JSON.readTree(tables.toFile())) {
            String where = tables + " " + db.get("db_id").asText();
            for (String key : List.of("table_names", "table_names_original")) {
                for (JsonNode name : db.get(key)) {
                    agreement.check(where + " " + key, name.asText());
                }
            }
            for (String key : List.of("column_names", "column_names_original")) {
                for (JsonNode column : db.get(key)) {
                    agreement.check(where + " " + key, column.get(1).asText());
                }
            }
        }
        report("Spider questions, queries and schema names", agreement);
    }

    @Test
    void gutenbergParagraphs() throws IOException {
        Agreement agreement = new Agreement(ours, oracle);
        Path file = data.resolve("corpus/gutenberg-00.jsonl");
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (int book = 0; book < GUTENBERG_BOOKS; book++) {
                String text = JSON.readTree(reader.readLine()).get("text").asText();
                if (book == 0) {
                    agreement.check(file + " book 1, whole", text);
                }
                String[] paragraphs = text.split("\n\n");
                for (int p = 0; p < paragraphs.length; p++) {
                    agreement.check(file + " book " + (book + 1) + " paragraph " + (p + 1), paragraphs[p]);
                }
            }
        }
        report("Gutenberg paragraphs", agreement);
    }

    private static void report(String what, Agreement agreement) {
        System.out.println(what + ": " + agreement.compared() + " texts compared with Hugging Face");
        agreement.assertNone(what);
    }
}
