package dev.statetune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code <run>/metrics.jsonl}: one JSON object per line ({"step": n, "loss": …, "lr": …, …}),
 * flushed as written so that a crash loses at most the line being written. Opening for a resumed
 * run drops the lines past the checkpoint's step, which the resumed run will log again.
 */
public final class MetricsLog implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Keeps the lines with step ≤ {@code resumedFromStep} (0 for a fresh run: an empty log). */
    public static MetricsLog open(Path runDir, int resumedFromStep) {
        Path file = runDir.resolve(FILE);
        try {
            Files.createDirectories(runDir);
            if (Files.exists(file)) keepThrough(file, resumedFromStep);
            return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }

    /** Rewrites the log atomically without the lines past {@code step}, and without a torn last line. */
    private static void keepThrough(Path file, int step) throws IOException {
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode row;
            try {
                row = JSON.readTree(line);
            } catch (IOException torn) {
                continue;
            }
            if (row != null && row.path("step").asInt(Integer.MAX_VALUE) <= step) kept.add(line);
        }
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + FILE, ".tmp");
        Files.write(tmp, kept, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Appends {"step": step, …values} in the map's order; values are numbers, strings or booleans. */
    public void log(int step, Map<String, ?> values) {
        ObjectNode row = JSON.createObjectNode();
        row.put("step", step);
        values.forEach((k, v) -> row.set(k, JSON.valueToTree(v)));
        try {
            out.write(JSON.writeValueAsString(row));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot append", e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot close", e);
        }
    }
}
