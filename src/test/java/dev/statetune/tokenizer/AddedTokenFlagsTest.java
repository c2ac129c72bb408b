package dev.statetune.tokenizer;

import dev.statetune.Fixtures;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The added-token flags GPT-NeoX does not exercise (single_word, lstrip, rstrip, normalized
 * contents that NFC changes, added tokens already in the model vocabulary, overlapping tokens),
 * checked against Hugging Face on the tiny-mamba tokenizer with extra added tokens.
 */
class AddedTokenFlagsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void everyFlagAgreesWithHuggingFace() throws IOException {
        ObjectNode json = (ObjectNode) JSON.readTree(Fixtures.tinyModel().resolve("tokenizer.json").toFile());
        ArrayNode added = (ArrayNode) json.get("added_tokens");
        add(added, "[MASK]", true, false, false, false, true);
        add(added, "<sep>", false, true, false, false, true);
        add(added, "<eos>", false, false, true, false, true);
        add(added, "<eos>x", false, false, false, false, false);
        add(added, "<both>", false, true, true, false, false);
        add(added, "cafe\u0301", false, false, false, true, false); // matches "café" after NFC
        add(added, "\u2126", false, false, false, true, false); // OHM SIGN, NFC gives GREEK OMEGA
        add(added, "\u212B", false, false, false, false, false); // ANGSTROM SIGN, matched raw only
        add(added, "hello world", false, false, false, true, false); // spans a pre-tokenizer split
        add(added, "the", false, false, false, false, false); // already a model token: keeps its id
        add(added, "word", true, true, true, true, false);
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), json);

        List<String> pieces = List.of("[MASK]", "<sep>", "<eos>", "<eos>x", "<both>", "café", "cafe\u0301", "\u2126", "\u03A9",
                "\u212B", "\u00C5", "hello world", "hello", " world", "the", "other", "word", "words", "_", "é", " ", "  ",
                "\t", "\n", "\u3000", "a", "X", "1", "'s", ".");
        Tokenizer ours = Tokenizer.load(file);
        try (Oracle oracle = new Oracle(file)) {
            Agreement agreement = new Agreement(ours, oracle);
            for (String piece : pieces) {
                for (String context : List.of("%s", "a%sb", " %s ", "  %s  ", "x %s\ty", "%s%s", "%s %s", "\n%s\n")) {
                    agreement.check("'" + context + "' with " + piece, context.replace("%s", piece));
                }
            }
            Random random = new Random(11);
            for (int i = 0; i < 5_000; i++) {
                StringBuilder text = new StringBuilder();
                for (int k = random.nextInt(12); k > 0; k--) {
                    text.append(pieces.get(random.nextInt(pieces.size())));
                }
                agreement.check("random #" + i, text.toString());
            }
            agreement.assertNone("added-token flags");
        }
    }

    private static void add(ArrayNode added, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                            boolean normalized, boolean special) {
        ObjectNode token = added.addObject();
        token.put("id", 1000 + added.size()); // a hint only: HF assigns ids itself on loading
        token.put("content", content);
        token.put("single_word", singleWord);
        token.put("lstrip", lstrip);
        token.put("rstrip", rstrip);
        token.put("normalized", normalized);
        token.put("special", special);
    }
}
