package dev.statetune.eval.spider;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.sqlite.ProgressHandler;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteOpenMode;

/**
 * Runs one query on a Spider database ({@code <root>/<db_id>/<db_id>.sqlite}), the role of
 * test-suite-sql-eval's {@code exec_on_db}. Databases open read-only (URI {@code mode=ro} and
 * SQLITE_OPEN_READONLY), so a predicted DROP or UPDATE fails inside SQLite; each query has a time
 * limit (a progress handler aborts it) and a row limit. Thread-safe: one cached connection per
 * database, and queries on the same database take turns.
 */
public final class SqlExecutor implements AutoCloseable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    public static final int DEFAULT_ROW_LIMIT = 100_000;
    /** SQLite virtual-machine steps between deadline checks: about a microsecond of work each time. */
    private static final int PROGRESS_PERIOD = 1_000;

    private final Path root;
    private final long timeoutNanos;
    private final int rowLimit;
    private final Map<String, Database> open = new ConcurrentHashMap<>();

    public SqlExecutor(Path databaseRoot) {
        this(databaseRoot, DEFAULT_TIMEOUT, DEFAULT_ROW_LIMIT);
    }

    public SqlExecutor(Path databaseRoot, Duration timeout, int rowLimit) {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        if (rowLimit < 0) throw new IllegalArgumentException("rowLimit must be >= 0");
        this.root = databaseRoot;
        this.timeoutNanos = timeout.toNanos();
        this.rowLimit = rowLimit;
    }

    public Path databaseFile(String dbId) {
        return root.resolve(dbId).resolve(dbId + ".sqlite");
    }

    /** Runs {@code sql} if it is a single read statement; every failure comes back as a result. */
    public QueryResult execute(String dbId, String sql) {
        String reason = ReadStatementCheck.rejectReason(sql);
        return reason != null ? new QueryResult.Rejected(reason) : run(dbId, sql);
    }

    /** Without the statement check: only the read-only connection stands between sql and the file. */
    QueryResult run(String dbId, String sql) {
        Database db;
        try {
            db = open.computeIfAbsent(dbId, this::openDatabase);
        } catch (UncheckedSql e) {
            return new QueryResult.Failed(e.getCause().getMessage());
        }
        synchronized (db) {
            return db.query(sql);
        }
    }

    private Database openDatabase(String dbId) {
        Path file = databaseFile(dbId).toAbsolutePath();
        if (!Files.isRegularFile(file)) throw new UncheckedSql(new SQLException("no database file " + file));
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        config.setOpenMode(SQLiteOpenMode.OPEN_URI);
        try {
            // toUri() percent-encodes the path, so a '?' or '#' in it cannot end the file name early.
            Connection connection = config.createConnection("jdbc:sqlite:file:" + file.toUri().getRawPath() + "?mode=ro");
            return new Database(connection);
        } catch (SQLException e) {
            throw new UncheckedSql(e);
        }
    }

    @Override
    public void close() {
        for (Database db : open.values()) {
            synchronized (db) {
                try {
                    db.connection.close();
                } catch (SQLException ignored) {
                    // Closing a read-only connection cannot lose anything.
                }
            }
        }
        open.clear();
    }

    private static final class UncheckedSql extends RuntimeException {
        UncheckedSql(SQLException cause) {
            super(cause);
        }
    }

    /** A connection and the deadline its progress handler enforces; guarded by its own monitor. */
    private final class Database {
        final Connection connection;
        long deadline;
        boolean timedOut;

        Database(Connection connection) throws SQLException {
            this.connection = connection;
            // Read-only stops writes to the file, not to the connection's temp schema, where a TEMP
            // table would shadow a real one for every later query on this cached connection.
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA query_only = 1");
            }
            ProgressHandler.setHandler(connection, PROGRESS_PERIOD, new ProgressHandler() {
                @Override
                protected int progress() {
                    if (System.nanoTime() - deadline > 0) timedOut = true;
                    return timedOut ? 1 : 0;
                }
            });
        }

        QueryResult query(String sql) {
            long start = System.nanoTime();
            deadline = start + timeoutNanos;
            timedOut = false;
            try (Statement statement = connection.createStatement()) {
                // sqlite-jdbc runs the statement inside executeQuery, before saying it returns no rows.
                try (ResultSet rs = statement.executeQuery(sql)) {
                    int columns = rs.getMetaData().getColumnCount();
                    List<List<Object>> rows = new ArrayList<>();
                    while (rs.next()) {
                        if (rows.size() == rowLimit) return new QueryResult.TooManyRows(rowLimit);
                        Object[] row = new Object[columns];
                        for (int c = 0; c < columns; c++) row[c] = javaValue(rs.getObject(c + 1));
                        rows.add(Arrays.asList(row));
                    }
                    return new QueryResult.Rows(columns, rows);
                }
            } catch (SQLException | RuntimeException e) {
                if (timedOut) return new QueryResult.TimedOut((System.nanoTime() - start) / 1_000_000);
                return new QueryResult.Failed(String.valueOf(e.getMessage()));
            }
        }
    }

    /** SQLite's storage classes as Java values: integers are always Long, whatever their width. */
    private static Object javaValue(Object value) {
        return value instanceof Integer i ? Long.valueOf(i) : value;
    }
}
