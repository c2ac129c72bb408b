package dev.statetune.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JSONL training file: {"prompt", "completion"} rows, tokenized separately and concatenated as
 * PAPER_NOTES "Data formats" (no BOS; eos after the completion unless noEos; loss on the completion
 * only), or pre-tokenized {"input_ids", "labels"} rows. Blank lines are skipped; other fields ignored.
 */
public final class JsonlDataset {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** What {@link #load} read: the examples, and "line N: reason" for each row it skipped. */
    public record Loaded(List<Example> examples, List<String> skipped) {}

    private JsonlDataset() {}

    /**
     * Reads every row. {@code maxLength} > 0 truncates each example to its first maxLength tokens.
     * A malformed row throws StatetuneException("file:line: reason"); with skipBadRows it is
     * skipped instead and the count reported on stderr once.
     */
    public static List<Example> read(Path file, Tokenizer tok, int eosId, boolean noEos, int maxLength, boolean skipBadRows) {
        Loaded loaded = load(file, tok, eosId, noEos, maxLength, skipBadRows);
        if (!loaded.skipped().isEmpty())
            System.err.println(file + ": skipped " + loaded.skipped().size() + " malformed row"
                    + (loaded.skipped().size() == 1 ? "" : "s") + " (first: " + loaded.skipped().getFirst() + ")");
        return loaded.examples();
    }

    /** As {@link #read}, but returns the skipped rows instead of reporting them. */
    public static Loaded load(Path file, Tokenizer tok, int eosId, boolean noEos, int maxLength, boolean skipBadRows) {
        List<Example> examples = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                try {
                    examples.add(parse(line, tok, eosId, noEos, maxLength));
                } catch (BadRow e) {
                    if (!skipBadRows) throw new StatetuneException(file + ":" + lineNo + ": " + e.getMessage());
                    skipped.add("line " + lineNo + ": " + e.getMessage());
                }
            }
        } catch (CharacterCodingException e) {
            throw new StatetuneException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (examples.isEmpty()) throw new StatetuneException(file + ": no usable rows");
        return new Loaded(examples, skipped);
    }

    /** A row's problem; becomes "file:line: message". */
    private static final class BadRow extends Exception {
        BadRow(String message) {
            super(message, null, false, false);
        }
    }

    private static Example parse(String line, Tokenizer tok, int eosId, boolean noEos, int maxLength) throws BadRow {
        JsonNode row;
        try {
            row = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadRow("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (!row.isObject()) throw new BadRow("expected a JSON object, got " + kind(row));
        boolean pretokenized = row.has("input_ids") || row.has("labels");
        boolean text = row.has("prompt") || row.has("completion");
        if (pretokenized && text) throw new BadRow("has both prompt/completion and input_ids/labels; use one kind per row");
        Example ex;
        if (pretokenized) ex = pretokenized(row, tok);
        else if (text) ex = promptCompletion(row, tok, eosId, noEos);
        else throw new BadRow("expected {\"prompt\", \"completion\"} or {\"input_ids\", \"labels\"}");
        if (maxLength > 0 && ex.length() > maxLength)
            ex = new Example(Arrays.copyOf(ex.inputIds(), maxLength), Arrays.copyOf(ex.labels(), maxLength));
        if (!hasTarget(ex.labels()))
            throw new BadRow(maxLength > 0 ? "no target tokens within the first " + maxLength + " tokens" : "no target tokens (every label is -100)");
        return ex;
    }

    private static Example promptCompletion(JsonNode row, Tokenizer tok, int eosId, boolean noEos) throws BadRow {
        String prompt = text(row, "prompt"), completion = text(row, "completion");
        if (completion.isEmpty()) throw new BadRow("empty \"completion\"");
        int[] p = tok.encode(prompt), c = tok.encode(completion);
        int n = p.length + c.length + (noEos ? 0 : 1);
        int[] ids = new int[n], labels = new int[n];
        System.arraycopy(p, 0, ids, 0, p.length);
        System.arraycopy(c, 0, ids, p.length, c.length);
        Arrays.fill(labels, 0, p.length, Example.IGNORE);
        System.arraycopy(c, 0, labels, p.length, c.length);
        if (!noEos) ids[n - 1] = labels[n - 1] = eosId;
        return new Example(ids, labels);
    }

    private static String text(JsonNode row, String field) throws BadRow {
        JsonNode v = row.get(field);
        if (v == null) throw new BadRow("missing \"" + field + "\"");
        if (!v.isTextual()) throw new BadRow("\"" + field + "\" must be a string, got " + kind(v));
        return v.textValue();
    }

    private static Example pretokenized(JsonNode row, Tokenizer tok) throws BadRow {
        int vocab = tok == null ? Integer.MAX_VALUE : tok.vocabSize();
        int[] ids = ints(row, "input_ids", 0, vocab);
        int[] labels = ints(row, "labels", Example.IGNORE, vocab);
        if (ids.length == 0) throw new BadRow("empty \"input_ids\"");
        if (labels.length != ids.length)
            throw new BadRow("\"labels\" has " + labels.length + " entries but \"input_ids\" has " + ids.length);
        return new Example(ids, labels);
    }

    /** An array of ints in [0, vocab), where {@code allowed} (−100 for labels) is also accepted. */
    private static int[] ints(JsonNode row, String field, int allowed, int vocab) throws BadRow {
        JsonNode v = row.get(field);
        if (v == null) throw new BadRow("missing \"" + field + "\"");
        if (!v.isArray()) throw new BadRow("\"" + field + "\" must be an array of integers, got " + kind(v));
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt())
                throw new BadRow("\"" + field + "\"[" + i + "] must be an integer, got " + kind(e));
            out[i] = e.intValue();
            if (out[i] != allowed && (out[i] < 0 || out[i] >= vocab))
                throw new BadRow("\"" + field + "\"[" + i + "] = " + out[i] + " is not a token id (vocabulary of " + vocab + ")");
        }
        return out;
    }

    private static boolean hasTarget(int[] labels) {
        // Position 0 is never predicted (the model shifts), so its label does not count.
        for (int i = 1; i < labels.length; i++) if (labels[i] != Example.IGNORE) return true;
        return false;
    }

    private static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "the number " + v.asText();
            case BOOLEAN -> v.asText();
            case NULL -> "null";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> v.getNodeType().name().toLowerCase();
        };
    }
}
