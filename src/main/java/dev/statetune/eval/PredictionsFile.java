package dev.statetune.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.StatetuneException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Per-example predictions on disk. Written as JSON Lines (one object per example: index,
 * prediction, and what the task scored it against). Read back either as such JSONL (the
 * "prediction" field of each row) or as plain text with one prediction per line, the format of
 * Spider's official evaluator (a tab and a db_id after the SQL are ignored).
 */
public final class PredictionsFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PredictionsFile() {}

    public static List<String> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new StatetuneException(file + ": not found");
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot read (" + e.getMessage() + ")");
        }
        while (!lines.isEmpty() && lines.getLast().isBlank()) lines.removeLast();
        boolean jsonl = file.getFileName().toString().endsWith(".jsonl");
        List<String> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) out.add(jsonl ? jsonPrediction(file, i + 1, lines.get(i)) : beforeTab(lines.get(i)));
        return out;
    }

    private static String jsonPrediction(Path file, int line, String text) {
        JsonNode row;
        try {
            row = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new StatetuneException(file + ":" + line + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        JsonNode p = row == null ? null : row.get("prediction");
        if (p == null || !p.isTextual()) throw new StatetuneException(file + ":" + line + ": no string field \"prediction\"");
        return p.textValue();
    }

    private static String beforeTab(String line) {
        int tab = line.indexOf('\t');
        return tab < 0 ? line : line.substring(0, tab);
    }

    /** Writes the rows atomically (a temporary file beside the target, then a rename). */
    public static void write(Path file, List<Map<String, Object>> rows) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            if (file.toAbsolutePath().getParent() != null) Files.createDirectories(file.toAbsolutePath().getParent());
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                for (Map<String, Object> row : rows) {
                    w.write(JSON.writeValueAsString(row));
                    w.newLine();
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }
}
