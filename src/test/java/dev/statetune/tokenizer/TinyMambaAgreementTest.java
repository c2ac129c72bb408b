package dev.statetune.tokenizer;

import dev.statetune.SharedData;
import dev.statetune.Fixtures;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The tiny-mamba tokenizer (1,000 tokens, merges as pairs, written by tokenizers 0.23) against
 * Hugging Face: a small vocabulary leaves most words in short pieces and unmerged bytes.
 */
class TinyMambaAgreementTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void handPickedAndRandomTexts() {
        try (Oracle oracle = new Oracle(Fixtures.tinyModel().resolve("tokenizer.json"))) {
            checkHandPickedAndRandomTexts(new Agreement(TokenizerTest.tiny(), oracle));
        }
    }

    private static void checkHandPickedAndRandomTexts(Agreement agreement) {
        List<String> texts = List.of("", "The quick brown fox jumps over the lazy dog.", "I'm sure they're DON'T",
                "<|endoftext|>Once upon a time<|endoftext|>", "  \n\n\t  x", "cafe\u0301 日本語 👍🏽", "1234567 3.14",
                "a".repeat(5_000), "Hello" + " ".repeat(30) + "world");
        for (int i = 0; i < texts.size(); i++) {
            agreement.check("hand-picked #" + i, texts.get(i));
        }
        String[] pieces = {"the", " of", "and", "ing", "tion", "X", "é", "日", "1", " ", "  ", "\n", "\t", "'s", "'", ".",
                "<|endoftext|>", "<|", "😀", "\u00A0"};
        Random random = new Random(3);
        for (int i = 0; i < 5_000; i++) {
            StringBuilder text = new StringBuilder();
            for (int k = random.nextInt(30); k > 0; k--) {
                text.append(pieces[random.nextInt(pieces.length)]);
            }
            agreement.check("random #" + i, text.toString());
        }
        agreement.assertNone("tiny-mamba tokenizer");
    }

    @Test
    void samsumDialogues() throws IOException {
        var file = SharedData.data().resolve("samsum/validation.jsonl");
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        try (Oracle oracle = new Oracle(Fixtures.tinyModel().resolve("tokenizer.json"))) {
            Agreement agreement = new Agreement(TokenizerTest.tiny(), oracle);
            for (int i = 0; i < lines.size(); i++) {
                agreement.check(file + ":" + (i + 1), JSON.readTree(lines.get(i)).get("dialogue").asText());
            }
            System.out.println("tiny-mamba, SAMSum dialogues: " + agreement.compared() + " texts compared with Hugging Face");
            agreement.assertNone("tiny-mamba tokenizer on SAMSum");
        }
    }

    /** The jar's copy (how the CLI loads it) is the same tokenizer. */
    @Test
    void readsFromTheClasspath() throws IOException {
        try (InputStream in = Tokenizer.class.getResourceAsStream("/dev/statetune/tiny-mamba/tokenizer.json")) {
            Tokenizer fromJar = Tokenizer.read(in, "tiny-mamba/tokenizer.json");
            String text = "Hello, tiny Mamba!";
            assertArrayEquals(TokenizerTest.tiny().encode(text), fromJar.encode(text));
        }
    }
}
