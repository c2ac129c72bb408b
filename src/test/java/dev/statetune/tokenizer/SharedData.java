package dev.statetune.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the project's shared real data lives (never copied into the repository): the system
 * property {@code statetune.shared}, else the environment variable {@code STATETUNE_SHARED},
 * else {@code ../shared} beside the checkout. Tests that need it are skipped when it is absent.
 */
final class SharedData {
    private SharedData() {}

    static Path data() {
        String configured = System.getProperty("statetune.shared", System.getenv("STATETUNE_SHARED"));
        Path data = Path.of(configured != null ? configured : "../shared").resolve("data");
        assumeTrue(Files.isDirectory(data), "skipped: " + data.toAbsolutePath().normalize() + " not found");
        return data;
    }

    static Path neoxTokenizer() {
        Path file = data().resolve("tokenizer/gpt-neox-20b.json");
        assumeTrue(Files.isRegularFile(file), "skipped: " + file + " not found");
        return file;
    }

    /** The tiny-mamba tokenizer shipped in main resources (the test runs from the project root). */
    static Path tinyMambaTokenizer() {
        return Path.of("src/main/resources/dev/statetune/tiny-mamba/tokenizer.json");
    }
}
