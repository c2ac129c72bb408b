package dev.statetune;

import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The project's shared real data (never copied into the repository): the system property
 * {@code statetune.shared}, else {@code $STATETUNE_SHARED}, else {@code ../shared} beside the
 * checkout, each with {@code data/} under it. Tests that need it are skipped, saying so, without it.
 */
public final class SharedData {
    private static Tokenizer neox;

    private SharedData() {}

    public static Path data() {
        String configured = System.getProperty("statetune.shared", System.getenv("STATETUNE_SHARED"));
        Path data = Path.of(configured != null ? configured : "../shared").resolve("data");
        assumeTrue(Files.isDirectory(data), "skipped: " + data.toAbsolutePath().normalize() + " not found");
        return data;
    }

    /** data()/relative, a file or a directory; skipped when it is absent. */
    public static Path path(String relative) {
        Path p = data().resolve(relative);
        assumeTrue(Files.exists(p), "skipped: " + p + " not found");
        return p;
    }

    public static Path neoxTokenizerFile() {
        return path("tokenizer/gpt-neox-20b.json");
    }

    /** The GPT-NeoX-20B tokenizer, loaded once for all test classes. */
    public static synchronized Tokenizer neox() {
        if (neox == null) neox = Tokenizer.load(neoxTokenizerFile());
        return neox;
    }
}
