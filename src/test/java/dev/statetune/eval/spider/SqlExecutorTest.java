package dev.statetune.eval.spider;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor on a small database written here: values, the read-only guarantee, time and row limits. */
class SqlExecutorTest {
    @TempDir
    Path root;
    Path file;

    @BeforeEach
    void createDatabase() throws Exception {
        file = root.resolve("shop").resolve("shop.sqlite");
        Files.createDirectories(file.getParent());
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.executeUpdate("CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL, photo BLOB, note TEXT)");
            s.executeUpdate("INSERT INTO item VALUES (1, 'pen', 1.5, x'00ff', NULL), (2, 'ink', 3.0, NULL, 'x'),"
                    + " (3, 'pad', 2.25, NULL, NULL), (5000000000, 'big', -1, NULL, NULL)");
        }
    }

    private SqlExecutor executor(Duration timeout, int rowLimit) {
        return new SqlExecutor(root, timeout, rowLimit);
    }

    @Test
    void rowsComeBackAsJavaValuesInSqliteOrder() {
        try (SqlExecutor ex = new SqlExecutor(root)) {
            QueryResult.Rows r = assertInstanceOf(QueryResult.Rows.class,
                    ex.execute("shop", "SELECT id, name, price, photo, note FROM item ORDER BY id;"));
            assertEquals(5, r.columnCount());
            assertEquals(4, r.rows().size());
            List<Object> first = r.rows().get(0);
            assertEquals(1L, first.get(0));
            assertEquals("pen", first.get(1));
            assertEquals(1.5, first.get(2));
            assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) first.get(3));
            assertNull(first.get(4));
            assertEquals(5_000_000_000L, r.rows().get(3).get(0));
            assertEquals(-1.0, r.rows().get(3).get(2), "REAL column keeps -1 as a double");
        }
    }

    @Test
    void emptyResultKeepsItsColumnCount() {
        try (SqlExecutor ex = new SqlExecutor(root)) {
            QueryResult.Rows r = assertInstanceOf(QueryResult.Rows.class, ex.execute("shop", "SELECT id, name FROM item WHERE id < 0"));
            assertEquals(2, r.columnCount());
            assertTrue(r.rows().isEmpty());
        }
    }

    @Test
    void writesFailOnTheReadOnlyConnectionEvenWithoutTheStatementCheck() throws Exception {
        byte[] before = Files.readAllBytes(file);
        Path attached = root.resolve("evil.sqlite");
        List<String> attacks = List.of(
                "DROP TABLE item",
                "UPDATE item SET price = 0",
                "INSERT INTO item(id, name) VALUES (9, 'x')",
                "DELETE FROM item",
                "CREATE TABLE t(x)",
                "ALTER TABLE item RENAME TO gone",
                "ATTACH DATABASE '" + attached + "' AS evil",
                "PRAGMA writable_schema = ON",
                "UPDATE sqlite_master SET sql = 'CREATE TABLE item(x)' WHERE name = 'item'",
                "PRAGMA journal_mode = DELETE",
                "VACUUM",
                "CREATE TEMP TABLE item(x)",
                "WITH x AS (SELECT 1) DELETE FROM item");
        try (SqlExecutor ex = new SqlExecutor(root)) {
            for (String sql : attacks) {
                QueryResult r = ex.run("shop", sql);
                if (!sql.startsWith("PRAGMA")) {
                    QueryResult.Failed failed = assertInstanceOf(QueryResult.Failed.class, r, sql);
                    assertTrue(failed.message().matches("(?s).*(SQLITE_READONLY|SQLITE_CANTOPEN).*"), sql + ": " + failed.message());
                }
                assertInstanceOf(QueryResult.Rejected.class, ex.execute("shop", sql), sql);
            }
            QueryResult.Rows still = assertInstanceOf(QueryResult.Rows.class, ex.execute("shop", "SELECT count(*), sum(price) FROM item"));
            assertEquals(List.of(4L, 5.75), still.rows().get(0));
        }
        assertArrayEquals(before, Files.readAllBytes(file), "database file changed");
        assertFalse(Files.exists(attached), "ATTACH created a file");
        assertFalse(Files.exists(Path.of(file + "-journal")), "a journal was left behind");
    }

    @Test
    void theStatementCheckLetsReadsThroughAndNamesWhatItRefuses() {
        assertNull(ReadStatementCheck.rejectReason("SELECT replace(name, 'a', 'b') FROM item;  "));
        assertNull(ReadStatementCheck.rejectReason("WITH t AS (SELECT 1) SELECT * FROM t"));
        assertNull(ReadStatementCheck.rejectReason("SELECT 'drop table item; update' FROM item"));
        assertNull(ReadStatementCheck.rejectReason("SELECT \"update\" FROM item -- ; delete"));
        assertEquals("more than one statement", ReadStatementCheck.rejectReason("SELECT 1; DROP TABLE item"));
        assertEquals("contains DELETE", ReadStatementCheck.rejectReason("WITH x AS (SELECT 1) DELETE FROM item"));
        assertEquals("not a SELECT: starts with PRAGMA", ReadStatementCheck.rejectReason("PRAGMA writable_schema=ON"));
        assertEquals("contains REPLACE", ReadStatementCheck.rejectReason("WITH x AS (SELECT 1) REPLACE INTO item SELECT 1, 2, 3, 4, 5"));
        assertEquals("empty query", ReadStatementCheck.rejectReason(" ; "));
        assertTrue(ReadStatementCheck.rejectReason("SELECT 'unterminated").startsWith("unterminated"));
    }

    @Test
    void runawayQueriesStopAtTheTimeLimitAndTheConnectionStaysUsable() {
        try (SqlExecutor ex = executor(Duration.ofMillis(300), 1000)) {
            for (String sql : List.of(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c",
                    "SELECT count(*) FROM item a, item b, item c, item d, item e, item f, item g, item h, item i, item j,"
                            + " item k, item l, item m, item n, item o, item p, item q, item r, item s, item t")) {
                long start = System.nanoTime();
                QueryResult r = ex.execute("shop", sql);
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertInstanceOf(QueryResult.TimedOut.class, r, sql);
                assertTrue(millis < 3_000, "stopped after " + millis + " ms");
                assertEquals("timeout", r.kind());
                assertInstanceOf(QueryResult.Rows.class, ex.execute("shop", "SELECT 1"), "after " + sql);
            }
        }
    }

    @Test
    void moreRowsThanTheLimitIsAnOutcomeNotAList() {
        String counter = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT %d) SELECT x FROM c";
        try (SqlExecutor ex = executor(Duration.ofSeconds(5), 100)) {
            assertEquals(100, assertInstanceOf(QueryResult.Rows.class, ex.execute("shop", counter.formatted(100))).rows().size());
            assertEquals(new QueryResult.TooManyRows(100), ex.execute("shop", counter.formatted(101)));
            // Unbounded: the row limit ends it long before the time limit would.
            assertEquals(new QueryResult.TooManyRows(100), ex.execute("shop", counter.replace(" LIMIT %d", "")));
        }
    }

    @Test
    void errorsAndMissingDatabasesAreResults() {
        try (SqlExecutor ex = new SqlExecutor(root)) {
            QueryResult.Failed syntax = assertInstanceOf(QueryResult.Failed.class, ex.execute("shop", "SELECT FROM WHERE"));
            assertTrue(syntax.message().contains("syntax"), syntax.message());
            assertInstanceOf(QueryResult.Failed.class, ex.execute("shop", "SELECT nope FROM item"));
            assertInstanceOf(QueryResult.Failed.class, ex.execute("nowhere", "SELECT 1"));
            assertFalse(Files.exists(root.resolve("nowhere")), "opening a missing database created it");
        }
    }

    @Test
    void concurrentQueriesOnOneDatabaseEachGetTheirOwnRows() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (SqlExecutor ex = new SqlExecutor(root)) {
            List<Future<QueryResult>> futures = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int id = List.of(1, 2, 3).get(i % 3);
                futures.add(pool.submit(() -> ex.execute("shop", "SELECT name FROM item WHERE id = " + id)));
            }
            for (int i = 0; i < futures.size(); i++) {
                String expected = List.of("pen", "ink", "pad").get(i % 3);
                QueryResult.Rows r = assertInstanceOf(QueryResult.Rows.class, futures.get(i).get());
                assertEquals(List.of(Arrays.asList((Object) expected)), r.rows());
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void writesFromAnotherConnectionStillSucceedAfterwards() throws SQLException {
        // The executor holds no write lock: closing it leaves the database usable by its owner.
        try (SqlExecutor ex = new SqlExecutor(root)) {
            ex.execute("shop", "SELECT * FROM item");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate("DELETE FROM item WHERE id = 3"));
        }
    }
}
