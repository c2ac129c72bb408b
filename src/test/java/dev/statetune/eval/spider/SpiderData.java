package dev.statetune.eval.spider;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared Spider data ({@code dev.json}, {@code database/}), found as the other tests find theirs:
 * the system property {@code statetune.shared}, else {@code $STATETUNE_SHARED}, else {@code ../shared}.
 * Tests that need it are skipped without it.
 */
final class SpiderData {
    private SpiderData() {}

    static Path spider() {
        String configured = System.getProperty("statetune.shared", System.getenv("STATETUNE_SHARED"));
        Path data = Path.of(configured != null ? configured : "../shared").resolve("data");
        assumeTrue(Files.isDirectory(data), "skipped: ../shared/data not found");
        Path spider = data.resolve("spider");
        assumeTrue(Files.isRegularFile(spider.resolve("dev.json")) && Files.isDirectory(spider.resolve("database")),
                "skipped: " + spider + " has no dev.json and database/");
        return spider;
    }
}
