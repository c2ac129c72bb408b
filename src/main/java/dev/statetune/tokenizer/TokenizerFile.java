package dev.statetune.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.StatetuneException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Reads a Hugging Face tokenizer.json into a {@link Tokenizer}, accepting the pipeline of GPT-2
 * style byte-level BPE (NFC or no normalizer, ByteLevel pre-tokenizer and decoder) and refusing
 * anything else with a message that names the file and the part it cannot handle. The
 * post-processor, truncation and padding do not change the ids of a single text, so they are ignored.
 */
final class TokenizerFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String source;

    private TokenizerFile(String source) {
        this.source = source;
    }

    static Tokenizer load(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        } catch (NoSuchFileException e) {
            throw new StatetuneException(file + ": no such file");
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot read it (" + e.getMessage() + ")", e);
        }
    }

    static Tokenizer read(InputStream in, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(in);
        } catch (JsonProcessingException e) {
            var where = e.getLocation();
            throw new StatetuneException(source + ": not valid JSON (" + e.getOriginalMessage()
                    + (where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr()) + ")", e);
        } catch (IOException e) {
            throw new StatetuneException(source + ": cannot read it (" + e.getMessage() + ")", e);
        }
        return new TokenizerFile(source).build(root);
    }

    private Tokenizer build(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw problem("not a tokenizer.json (expected a JSON object)");
        }
        String version = root.path("version").asText("1.0");
        if (!version.equals("1.0")) {
            throw problem("unknown tokenizer.json version \"" + version + "\" (expected \"1.0\")");
        }
        JsonNode model = root.get("model");
        if (model == null || model.isNull()) {
            throw problem("has no \"model\"");
        }
        Map<String, Integer> vocab = vocab(model);
        Bpe bpe = bpe(model, vocab);
        UnaryOperator<String> normalizer = normalizer(root.get("normalizer"));
        PreTokenizer preTokenizer = preTokenizer(root.get("pre_tokenizer"));
        checkDecoder(root.get("decoder"));
        AddedTokens addedTokens = new AddedTokens(addedTokenSpecs(root.get("added_tokens")), vocab, normalizer);
        return new Tokenizer(source, vocab, bpe, addedTokens, normalizer, preTokenizer);
    }

    private Map<String, Integer> vocab(JsonNode model) {
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw problem("model type \"" + type + "\" is not supported (only \"BPE\")");
        }
        JsonNode vocab = model.get("vocab");
        if (vocab == null || !vocab.isObject()) {
            throw problem("the BPE model has no \"vocab\" object");
        }
        Map<String, Integer> ids = new HashMap<>(vocab.size() * 2);
        Map<Integer, String> seen = new HashMap<>(vocab.size() * 2);
        for (var entry : vocab.properties()) {
            JsonNode id = entry.getValue();
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.intValue() < 0) {
                throw problem("vocab entry \"" + entry.getKey() + "\" has id " + id + ", not a non-negative integer");
            }
            String other = seen.put(id.intValue(), entry.getKey());
            if (other != null) {
                throw problem("vocab entries \"" + other + "\" and \"" + entry.getKey() + "\" share id " + id);
            }
            ids.put(entry.getKey(), id.intValue());
        }
        return ids;
    }

    private Bpe bpe(JsonNode model, Map<String, Integer> vocab) {
        if (model.path("dropout").asDouble(0) != 0) {
            throw problem("BPE dropout is not supported (encoding would be random)");
        }
        for (String option : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(option).asText("").isEmpty()) {
                throw problem("BPE \"" + option + "\" is not supported (byte-level BPE does not use it)");
            }
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw problem("BPE \"byte_fallback\" is not supported (byte-level BPE does not need it)");
        }
        JsonNode unk = model.get("unk_token");
        try {
            return new Bpe(vocab, merges(model.get("merges")), unk == null || unk.isNull() ? null : unk.asText(),
                    model.path("fuse_unk").asBoolean(false), model.path("ignore_merges").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw problem(e.getMessage());
        }
    }

    /** Merges as "left right" strings (older files) or ["left", "right"] pairs (newer ones). */
    private List<String[]> merges(JsonNode merges) {
        if (merges == null || !merges.isArray()) {
            throw problem("the BPE model has no \"merges\" array");
        }
        List<String[]> pairs = new ArrayList<>(merges.size());
        for (JsonNode merge : merges) {
            if (merge.isTextual()) {
                if (merge.textValue().startsWith("#version")) {
                    continue; // the header line of a merges.txt, kept by some converters
                }
                String[] parts = merge.textValue().split(" ", -1);
                if (parts.length != 2) {
                    throw problem("merge " + (pairs.size() + 1) + " \"" + merge.textValue() + "\" is not two tokens separated by a space");
                }
                pairs.add(parts);
            } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
                pairs.add(new String[] {merge.get(0).textValue(), merge.get(1).textValue()});
            } else {
                throw problem("merge " + (pairs.size() + 1) + " is " + merge + ", not \"a b\" or [\"a\", \"b\"]");
            }
        }
        return pairs;
    }

    private UnaryOperator<String> normalizer(JsonNode normalizer) {
        if (normalizer == null || normalizer.isNull()) {
            return UnaryOperator.identity();
        }
        String type = normalizer.path("type").asText();
        if (type.equals("NFC")) {
            return Nfc::normalize;
        }
        throw problem("normalizer \"" + type + "\" is not supported (only NFC or none)");
    }

    private PreTokenizer preTokenizer(JsonNode preTokenizer) {
        String type = preTokenizer == null || preTokenizer.isNull() ? "null" : preTokenizer.path("type").asText();
        if (!type.equals("ByteLevel")) {
            throw problem("pre_tokenizer \"" + type + "\" is not supported (only ByteLevel)");
        }
        // Defaults as in Hugging Face's ByteLevel::default().
        return new PreTokenizer(preTokenizer.path("add_prefix_space").asBoolean(true), preTokenizer.path("use_regex").asBoolean(true));
    }

    private void checkDecoder(JsonNode decoder) {
        String type = decoder == null || decoder.isNull() ? "null" : decoder.path("type").asText();
        if (!type.equals("ByteLevel")) {
            throw problem("decoder \"" + type + "\" is not supported (only ByteLevel)");
        }
    }

    private List<AddedTokens.Spec> addedTokenSpecs(JsonNode addedTokens) {
        List<AddedTokens.Spec> specs = new ArrayList<>();
        if (addedTokens == null || addedTokens.isNull()) {
            return specs;
        }
        if (!addedTokens.isArray()) {
            throw problem("\"added_tokens\" is not an array");
        }
        for (JsonNode t : addedTokens) {
            if (!t.path("content").isTextual()) {
                throw problem("added token " + t + " has no \"content\" string");
            }
            // Defaults as in Hugging Face's AddedToken::default().
            specs.add(new AddedTokens.Spec(t.get("content").textValue(), t.path("single_word").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                    t.path("normalized").asBoolean(true), t.path("special").asBoolean(false)));
        }
        return specs;
    }

    private StatetuneException problem(String what) {
        return new StatetuneException(source + ": " + what);
    }
}
