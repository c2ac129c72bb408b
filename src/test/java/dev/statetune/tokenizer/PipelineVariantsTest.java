package dev.statetune.tokenizer;

import dev.statetune.Fixtures;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The options of the supported pipeline that the real files leave at one value, each switched on
 * a copy of the tiny-mamba tokenizer and checked against Hugging Face.
 */
class PipelineVariantsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PIECES = List.of("the", "The", " of", "and", "ing", "X", "é", "e\u0301", "日", "1", " ",
            "  ", "\n", "\t", "'s", "'", ".", "<|endoftext|>", "😀", "🙂", "𝟙", "\u00A0", "ðŁ", "XX", " XX");

    @TempDir
    Path dir;

    @Test
    void prefixSpace() throws IOException {
        check(json -> ((ObjectNode) json.get("pre_tokenizer")).put("add_prefix_space", true));
    }

    @Test
    void noRegexSplit() throws IOException {
        check(json -> ((ObjectNode) json.get("pre_tokenizer")).put("use_regex", false));
    }

    /** "XX" and "ĠXX" are vocabulary tokens that no merge produces: only ignore_merges finds them. */
    @Test
    void ignoreMerges() throws IOException {
        check(json -> {
            ((ObjectNode) json.at("/model/vocab")).put("XX", 1000).put("ĠXX", 1001);
            ((ObjectNode) json.get("model")).put("ignore_merges", true);
        });
    }

    @Test
    void noNormalizer() throws IOException {
        check(json -> json.putNull("normalizer"));
    }

    /**
     * Bytes F0 and 9F (how the emoji here begin) taken out of the vocabulary: dropped without an
     * unk_token, one unk each with it, one unk for both with fuse_unk.
     */
    @Test
    void bytesOutsideTheVocabulary() throws IOException {
        check(json -> removeToken(json, "ð", "Ł"));
    }

    @Test
    void unknownBytesBecomeUnk() throws IOException {
        check(json -> {
            removeToken(json, "ð", "Ł");
            ((ObjectNode) json.get("model")).put("unk_token", "<|endoftext|>");
        });
    }

    @Test
    void unknownBytesFuseIntoOneUnk() throws IOException {
        check(json -> {
            removeToken(json, "ð", "Ł");
            ((ObjectNode) json.get("model")).put("unk_token", "<|endoftext|>").put("fuse_unk", true);
        });
    }

    /** Removes tokens, and every merge that uses them, leaving holes in the ids. */
    private static void removeToken(ObjectNode json, String... tokens) {
        for (String token : tokens) {
            ((ObjectNode) json.at("/model/vocab")).remove(token);
            for (Iterator<?> merges = ((ArrayNode) json.at("/model/merges")).elements(); merges.hasNext(); ) {
                if (merges.next().toString().contains(token)) {
                    merges.remove();
                }
            }
        }
    }

    private void check(Consumer<ObjectNode> change) throws IOException {
        ObjectNode json = (ObjectNode) JSON.readTree(Fixtures.tinyModel().resolve("tokenizer.json").toFile());
        change.accept(json);
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), json);
        try (Oracle oracle = new Oracle(file)) {
            Agreement agreement = new Agreement(Tokenizer.load(file), oracle);
            Random random = new Random(5);
            for (int i = 0; i < 3_000; i++) {
                StringBuilder text = new StringBuilder();
                for (int k = random.nextInt(20); k > 0; k--) {
                    text.append(PIECES.get(random.nextInt(PIECES.size())));
                }
                agreement.check("random #" + i, text.toString());
            }
            agreement.assertNone("variant");
        }
    }
}
