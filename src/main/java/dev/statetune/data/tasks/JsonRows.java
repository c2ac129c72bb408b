package dev.statetune.data.tasks;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.StatetuneException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of a task's JSON file, each with the line it starts on for "file:line" errors: a JSON
 * array of objects (Spider, DART, SAMSum's original release) or JSON Lines (SAMSum from the hub).
 */
final class JsonRows {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One object of the file and where it starts. */
    record Row(Path file, int line, JsonNode node) {
        String where() {
            return file + ":" + line + ": ";
        }

        /** A string field, or an error naming the file, line and field. */
        String text(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) throw new StatetuneException(where() + "missing \"" + field + "\"");
            if (!v.isTextual()) throw new StatetuneException(where() + "\"" + field + "\" must be a string");
            return v.textValue();
        }

        /** An array field, or an error naming the file, line and field. */
        JsonNode array(String field) {
            JsonNode v = node.get(field);
            if (v == null || !v.isArray()) throw new StatetuneException(where() + "missing array \"" + field + "\"");
            return v;
        }
    }

    private JsonRows() {}

    static List<Row> read(Path file) {
        try {
            return startsWithArray(file) ? array(file) : lines(file);
        } catch (NoSuchFileException e) {
            throw new StatetuneException(file + ": not found");
        } catch (JsonProcessingException e) {
            throw new StatetuneException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static boolean startsWithArray(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (int c; (c = in.read()) >= 0; )
                if (!Character.isWhitespace(c) && c != '\uFEFF') return c == '[';
        }
        return false;
    }

    private static List<Row> array(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (JsonParser p = JSON.createParser(file.toFile())) {
            p.nextToken();
            while (p.nextToken() == JsonToken.START_OBJECT) {
                int line = p.currentTokenLocation().getLineNr();
                rows.add(new Row(file, line, p.readValueAsTree()));
            }
            if (p.currentToken() != JsonToken.END_ARRAY)
                throw new StatetuneException(file + ":" + p.currentTokenLocation().getLineNr() + ": expected a JSON object in the array");
        }
        return rows;
    }

    private static List<Row> lines(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new StatetuneException(file + ":" + lineNo + ": not valid JSON (" + e.getOriginalMessage() + ")");
                }
                if (!node.isObject()) throw new StatetuneException(file + ":" + lineNo + ": expected a JSON object");
                rows.add(new Row(file, lineNo, node));
            }
        }
        return rows;
    }
}
