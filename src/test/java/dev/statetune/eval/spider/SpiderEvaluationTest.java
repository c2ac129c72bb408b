package dev.statetune.eval.spider;

import dev.statetune.SharedData;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Execution accuracy on the real Spider dev set and databases: gold against itself, wrong, hostile and runaway predictions. */
class SpiderEvaluationTest {
    private Path spider;
    private List<SpiderExample> dev;

    @BeforeEach
    void load() throws IOException {
        spider = SharedData.path("spider");
        dev = SpiderExample.load(spider.resolve("dev.json"));
        assertEquals(1034, dev.size());
    }

    private SpiderEvaluation.Report evaluate(List<SpiderExample> examples, List<String> predictions, Duration timeout) {
        try (SqlExecutor executor = new SqlExecutor(spider.resolve("database"), timeout, SqlExecutor.DEFAULT_ROW_LIMIT)) {
            return new SpiderEvaluation(executor, false).evaluate(examples, predictions);
        }
    }

    @Test
    void goldAgainstItselfIsHundredPercentOnAllOfDev() {
        List<String> gold = dev.stream().map(SpiderExample::query).toList();
        SpiderEvaluation.Report report = evaluate(dev, gold, SqlExecutor.DEFAULT_TIMEOUT);
        List<SpiderEvaluation.ExampleScore> wrong = report.examples().stream().filter(s -> !s.correct()).toList();
        assertTrue(wrong.isEmpty(), wrong.size() + " wrong, first: " + (wrong.isEmpty() ? "" : wrong.get(0)));
        assertEquals(new SpiderEvaluation.Tally(1034, 1034), report.all());
        assertEquals(Map.of(SpiderHardness.EASY, new SpiderEvaluation.Tally(248, 248),
                SpiderHardness.MEDIUM, new SpiderEvaluation.Tally(446, 446),
                SpiderHardness.HARD, new SpiderEvaluation.Tally(174, 174),
                SpiderHardness.EXTRA, new SpiderEvaluation.Tally(166, 166)), report.levels());
        assertEquals(1.0, report.all().accuracy());
    }

    @Test
    void wrongPredictionsAreScoredWrongAndEquivalentOnesRight() {
        List<SpiderExample> examples = dev.subList(0, 8);
        List<String> predictions = List.of(
                "SELECT count(*) FROM stadium",                                        // other table: mismatch
                "SELECT count(DISTINCT singer_id) FROM singer",                          // same count: match
                "SELECT name, country, age FROM singer ORDER BY age ASC",                // reversed order: mismatch
                "SELECT age, name, country FROM singer ORDER BY age DESC",               // columns permuted: match
                "SELECT avg(age), min(age), max(age) FROM singer",                       // no WHERE: mismatch
                "SELECT avg(age), min(age), max(age) FROM singer WHERE country = 'France'",
                "SELECT song_name, song_release_year FROM singer ORDER BY age DESC LIMIT 1",
                "SELECT song_nam FROM singer");                                          // no such column: error
        SpiderEvaluation.Report report = evaluate(examples, predictions, SqlExecutor.DEFAULT_TIMEOUT);
        List<String> outcomes = report.examples().stream().map(SpiderEvaluation.ExampleScore::outcome).toList();
        assertEquals(List.of("mismatch", "match", "mismatch", "match", "mismatch", "match", "mismatch", "error"), outcomes);
        assertEquals(new SpiderEvaluation.Tally(8, 3), report.all());
        assertEquals(SpiderHardness.EASY, report.examples().get(0).hardness());
        assertEquals(SpiderHardness.MEDIUM, report.examples().get(2).hardness());
    }

    @Test
    void hostilePredictionsAreWrongAndLeaveEveryDatabaseByteIdentical() throws Exception {
        Map<Path, String> before = digests();
        List<SpiderExample> examples = new ArrayList<>();
        List<String> predictions = new ArrayList<>();
        for (String attack : List.of("DROP TABLE singer", "UPDATE singer SET age = 0", "DELETE FROM singer;",
                "INSERT INTO singer(singer_id) VALUES (999)", "SELECT 1; DROP TABLE singer",
                "ATTACH DATABASE 'evil.sqlite' AS evil", "PRAGMA writable_schema = ON", "CREATE TEMP TABLE singer(x)")) {
            examples.add(dev.get(0));
            predictions.add(attack);
        }
        examples.add(dev.get(0));
        predictions.add(dev.get(0).query());
        SpiderEvaluation.Report report = evaluate(examples, predictions, SqlExecutor.DEFAULT_TIMEOUT);
        for (int i = 0; i < examples.size() - 1; i++) {
            assertFalse(report.examples().get(i).correct(), predictions.get(i));
            assertEquals("rejected", report.examples().get(i).outcome(), predictions.get(i));
        }
        assertTrue(report.examples().getLast().correct(), "the gold query still runs afterwards");
        // And past the statement check, straight onto the read-only connection.
        try (SqlExecutor executor = new SqlExecutor(spider.resolve("database"))) {
            for (String attack : predictions.subList(0, predictions.size() - 1)) {
                QueryResult r = executor.run("concert_singer", attack);
                if (!attack.startsWith("PRAGMA") && !attack.startsWith("SELECT 1;")) assertEquals("error", r.kind(), attack);
            }
        }
        assertEquals(before, digests());
        assertFalse(Files.exists(Path.of("evil.sqlite")));
    }

    @Test
    void aRunawayPredictionTimesOutAndTheEvaluationGoesOn() {
        List<SpiderExample> examples = List.of(dev.get(0), dev.get(1), dev.get(2));
        List<String> predictions = List.of(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                "SELECT count(*) FROM singer AS a, singer AS b, singer AS c, singer AS d, singer AS e, singer AS f,"
                        + " singer AS g, singer AS h, singer AS i, singer AS j, singer AS k, singer AS l",
                dev.get(2).query());
        long start = System.nanoTime();
        SpiderEvaluation.Report report = evaluate(examples, predictions, Duration.ofMillis(300));
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "took " + (System.nanoTime() - start) / 1_000_000 + " ms");
        assertEquals(List.of("timeout", "timeout", "match"),
                report.examples().stream().map(SpiderEvaluation.ExampleScore::outcome).toList());
    }

    @Test
    void predictionsMustPairWithExamples() {
        assertThrows(IllegalArgumentException.class, () -> evaluate(dev.subList(0, 2), List.of("SELECT 1"), SqlExecutor.DEFAULT_TIMEOUT));
    }

    private Map<Path, String> digests() throws IOException, NoSuchAlgorithmException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        Map<Path, String> out = new java.util.TreeMap<>();
        try (Stream<Path> files = Files.list(spider.resolve("database"))) {
            for (Path dir : files.toList()) {
                Path file = dir.resolve(dir.getFileName() + ".sqlite");
                if (dev.stream().anyMatch(e -> e.dbId().equals(dir.getFileName().toString())) && Files.exists(file)) {
                    out.put(file, HexFormat.of().formatHex(sha.digest(Files.readAllBytes(file))));
                }
            }
        }
        assertEquals(20, out.size(), "the 20 dev databases");
        return out;
    }
}
