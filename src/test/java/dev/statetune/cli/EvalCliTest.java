package dev.statetune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.Fixtures;
import dev.statetune.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.statetune.cli.CliErrorsTest.assertUserError;
import static dev.statetune.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * `statetune eval` on the real splits of ../shared/data: gold predictions score 100 on every task
 * family (Spider dev by execution on its databases), a model run writes predictions whose metrics
 * can be recomputed from the file, and bad input fails with one line.
 */
class EvalCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    static JsonNode metrics(CliRunner.Result r) throws IOException {
        assertEquals(0, r.code(), r.err());
        return JSON.readTree(r.out()).get("metrics");
    }

    @Test
    void spiderDevGoldQueriesScoreFullExecutionAccuracyAtEveryHardness() throws IOException {
        Path spider = SharedData.path("spider");
        List<String> lines = new ArrayList<>();
        for (JsonNode ex : JSON.readTree(spider.resolve("dev.json").toFile()))
            lines.add(ex.get("query").asText().replace('\n', ' ') + "\t" + ex.get("db_id").asText());
        Path gold = Files.write(dir.resolve("gold.sql"), lines);
        JsonNode m = metrics(run("eval", "--task", "spider", "--data", spider.toString(), "--predictions", gold.toString(), "--json"));
        assertEquals(1034, m.get("examples").asInt());
        for (String k : new String[] {"execution_accuracy", "easy", "medium", "hard", "extra"}) assertEquals(100.0, m.get(k).asDouble(), 1e-9, k);
    }

    @Test
    void spiderWrongAndHostileQueriesScoreZeroWithoutStoppingTheRun() throws IOException {
        Path spider = SharedData.path("spider");
        Path preds = Files.write(dir.resolve("bad.sql"), List.of("DROP TABLE singer", "UPDATE singer SET name = 'x'", "select 1", "not sql at all"));
        JsonNode m = metrics(run("eval", "--task", "spider", "--data", spider.toString(), "--predictions", preds.toString(), "--limit", "4", "--json"));
        assertEquals(4, m.get("examples").asInt());
        assertEquals(0.0, m.get("execution_accuracy").asDouble());
    }

    @Test
    void samsumSummariesAgainstThemselvesScoreFullRouge() throws IOException {
        Path samsum = SharedData.path("samsum");
        List<String> lines = new ArrayList<>();
        for (String row : Files.readAllLines(samsum.resolve("validation.jsonl")))
            if (!row.isBlank()) lines.add(JSON.writeValueAsString(java.util.Map.of("prediction", JSON.readTree(row).get("summary").asText().strip())));
        Path preds = Files.write(dir.resolve("samsum.jsonl"), lines);
        JsonNode m = metrics(run("eval", "--task", "samsum", "--data", samsum.toString(), "--predictions", preds.toString(), "--json"));
        assertEquals(lines.size(), m.get("examples").asInt());
        for (String k : new String[] {"rouge1", "rouge2", "rougeL", "rougeLsum"}) assertEquals(100.0, m.get(k).asDouble(), 1e-9, k);
    }

    @Test
    void dartFirstReferencesScoreFullBleu() throws IOException {
        Path dart = SharedData.path("dart");
        List<String> lines = new ArrayList<>();
        for (JsonNode ex : JSON.readTree(dart.resolve("dart-v1.1.1-full-dev.json").toFile()))
            lines.add(JSON.writeValueAsString(java.util.Map.of("prediction", ex.get("annotations").get(0).get("text").asText())));
        Path preds = Files.write(dir.resolve("dart.jsonl"), lines);
        JsonNode m = metrics(run("eval", "--task", "dart", "--data", dart.toString(), "--predictions", preds.toString(), "--json"));
        assertEquals(lines.size(), m.get("examples").asInt());
        assertEquals(100.0, m.get("bleu").asDouble(), 1e-6);
    }

    @Test
    void rteDevWithAModelWritesPredictionsThatRescoreToTheSameMetrics() throws IOException {
        Path rte = SharedData.path("glue/RTE");
        Path preds = dir.resolve("rte.jsonl");
        JsonNode ran = metrics(run("eval", "--model", Fixtures.tinyModel().toString(), "--task", "glue/rte", "--data", rte.toString(),
                "--limit", "24", "--predictions", preds.toString(), "--json"));
        List<String> rows = Files.readAllLines(preds);
        assertEquals(24, rows.size());
        int correct = 0, outOfClass = 0;
        for (String row : rows) {
            JsonNode r = JSON.readTree(row);
            if (r.get("correct").asBoolean()) correct++;
            if (r.get("predicted_label").isNull()) outOfClass++;
        }
        assertEquals(24, ran.get("examples").asInt());
        assertEquals(outOfClass, ran.get("out_of_class").asInt());
        assertEquals(100.0 * correct / 24, ran.get("accuracy_strict").asDouble(), 1e-9);
        JsonNode rescored = metrics(run("eval", "--task", "glue/rte", "--data", rte.toString(), "--limit", "24", "--predictions", preds.toString(), "--json"));
        assertEquals(ran, rescored);
    }

    @Test
    void samsumWithAModelDecodesEveryExampleByBeamSearch() throws IOException {
        Path samsum = SharedData.path("samsum");
        Path preds = dir.resolve("samsum.jsonl");
        var r = run("eval", "--model", Fixtures.tinyModel().toString(), "--task", "samsum", "--data", samsum.toString(),
                "--limit", "3", "--num-beams", "2", "--max-new-tokens", "6", "--batch-size", "2", "--predictions", preds.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("rougeLsum"), r.out());
        assertEquals(3, Files.readAllLines(preds).size());
    }

    @Test
    void badInputFailsWithOneLine() throws IOException {
        Path rte = SharedData.path("glue/RTE");
        Path two = Files.write(dir.resolve("two.txt"), List.of("0", "1"));
        assertUserError(run("eval", "--task", "glue/rte", "--data", rte.toString(), "--predictions", two.toString()), "2 predictions", "277 examples");
        assertUserError(run("eval", "--task", "glue/xyz", "--data", rte.toString(), "--predictions", two.toString()), "unknown task");
        assertUserError(run("eval", "--task", "glue/rte", "--split", "test", "--data", rte.toString(), "--predictions", two.toString()), "no split \"test\"");
        assertUserError(run("eval", "--task", "glue/rte", "--data", rte.toString(), "--predictions", dir.resolve("none.jsonl").toString()), "not found");
        Path broken = Files.writeString(dir.resolve("broken.jsonl"), "{\"prediction\": \"0\"}\n{\"prediction\": 1\n");
        assertUserError(run("eval", "--task", "glue/rte", "--data", rte.toString(), "--predictions", broken.toString()), "broken.jsonl:2");
    }
}
