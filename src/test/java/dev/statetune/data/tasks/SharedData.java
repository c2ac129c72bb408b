package dev.statetune.data.tasks;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's shared real data (never copied into the repository), found as the other tests find it:
 * the system property {@code statetune.shared}, else {@code $STATETUNE_SHARED}, else {@code ../shared}
 * beside the checkout, each with {@code data/} under it. Tests that need it are skipped without it.
 */
final class SharedData {
    private static Tokenizer neox;

    private SharedData() {}

    static Path dir(String relative) {
        String configured = System.getProperty("statetune.shared", System.getenv("STATETUNE_SHARED"));
        Path data = Path.of(configured != null ? configured : "../shared").resolve("data");
        assumeTrue(Files.isDirectory(data), "skipped: ../shared/data not found");
        Path dir = data.resolve(relative);
        assumeTrue(Files.exists(dir), "skipped: " + dir + " not found");
        return dir;
    }

    /** The GPT-NeoX-20B tokenizer, loaded once for all test classes. */
    static synchronized Tokenizer neox() {
        if (neox == null) neox = Tokenizer.load(dir("tokenizer/gpt-neox-20b.json"));
        return neox;
    }
}
