package dev.statetune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** metrics.jsonl: one parseable object per line, visible before close, trimmed on resume. */
class MetricsLogTest {
    @TempDir Path run;

    private List<String> lines() throws IOException {
        return Files.readAllLines(run.resolve(MetricsLog.FILE));
    }

    @Test
    void eachLineIsAJsonObjectWrittenThrough() throws IOException {
        try (MetricsLog log = MetricsLog.open(run, 0)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("loss", 2.5);
            m.put("lr", 1e-3);
            m.put("grad_norm", 0.75);
            m.put("tokens_per_s", 1234.5);
            log.log(1, m);
            assertEquals(1, lines().size(), "flushed before close");
            log.log(2, Map.of("eval_loss", 2.25));
        }
        List<String> lines = lines();
        assertEquals(2, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        assertEquals(List.of("step", "loss", "lr", "grad_norm", "tokens_per_s"), iterableToList(first.fieldNames()));
        assertEquals(1, first.get("step").intValue());
        assertEquals(2.5, first.get("loss").doubleValue());
        assertEquals(2.25, new ObjectMapper().readTree(lines.get(1)).get("eval_loss").doubleValue());
    }

    @Test
    void resumingDropsLinesPastTheCheckpointAndATornLine() throws IOException {
        try (MetricsLog log = MetricsLog.open(run, 0)) {
            for (int s = 1; s <= 5; s++) log.log(s, Map.of("loss", 1.0 / s));
        }
        Files.writeString(run.resolve(MetricsLog.FILE), "{\"step\": 6, \"lo", java.nio.file.StandardOpenOption.APPEND);
        try (MetricsLog log = MetricsLog.open(run, 3)) {
            log.log(4, Map.of("loss", 0.5));
        }
        List<String> lines = lines();
        assertEquals(4, lines.size(), lines.toString());
        assertTrue(lines.get(3).startsWith("{\"step\":4,"), lines.get(3));
    }

    @Test
    void aFreshRunStartsAnEmptyLog() throws IOException {
        try (MetricsLog log = MetricsLog.open(run, 0)) {
            log.log(1, Map.of("loss", 1.0));
        }
        try (MetricsLog log = MetricsLog.open(run, 0)) {
            log.log(1, Map.of("loss", 3.0));
        }
        assertEquals(1, lines().size());
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
