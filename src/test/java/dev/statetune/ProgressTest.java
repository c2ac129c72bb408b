package dev.statetune;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The plain-line mode (stderr not a terminal): format, ETA from this run's pace, rate limiting. */
class ProgressTest {
    @Test
    void lineFormat() {
        assertEquals("train 50/200  loss 1.2346  eta 1:02:05", Progress.line("train", 50, 200, "loss 1.2346", Duration.ofSeconds(3725)));
        assertEquals("eval 0/10  0 examples/s  eta ?", Progress.line("eval", 0, 10, "0 examples/s", null));
    }

    @Test
    void plainLinesAreRateLimitedWithFirstAndLastAlwaysShown() {
        long[] now = {0};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Progress p = new Progress("train", 100, 40, new PrintStream(buf, true, StandardCharsets.UTF_8), () -> now[0])) {
            for (int step = 41; step <= 100; step++) {
                now[0] += Duration.ofSeconds(1).toNanos();
                p.update(step, "loss 1.0000");
            }
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        // Step 41 (first), then one line each 10 s (51, 61, …, 91), then 100 (last).
        assertEquals(List.of(41, 51, 61, 71, 81, 91, 100), lines.stream().map(l -> Integer.parseInt(l.split("[ /]")[1])).toList(), lines.toString());
        // After step 41, one step took 1 s and 59 remain: the resumed run's pace, not the whole run's.
        assertTrue(lines.getFirst().endsWith("eta 0:00:59"), lines.getFirst());
        assertTrue(lines.getLast().endsWith("eta 0:00:00"), lines.getLast());
    }
}
