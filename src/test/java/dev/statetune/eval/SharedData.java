package dev.statetune.eval;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's shared real data (never copied into the repository), found as the tokenizer tests find
 * it: the system property {@code statetune.shared}, else {@code $STATETUNE_SHARED}, else {@code ../shared}
 * beside the checkout, each with {@code data/} under it. Tests that need a file are skipped without it.
 */
final class SharedData {
    private SharedData() {}

    static Path file(String relative) {
        String configured = System.getProperty("statetune.shared", System.getenv("STATETUNE_SHARED"));
        Path data = Path.of(configured != null ? configured : "../shared").resolve("data");
        assumeTrue(Files.isDirectory(data), "skipped: ../shared/data not found");
        Path file = data.resolve(relative);
        assumeTrue(Files.isRegularFile(file), "skipped: " + file + " not found");
        return file;
    }
}
