package dev.statetune.backend.cuda;

import java.util.Map;
import java.util.TreeMap;

/**
 * Where the GPU time goes, per backend op, when STATETUNE_PROFILE is set: each timed op waits for
 * the stream before and after, so the figures are exact but the run is slower. Printed to stderr
 * when the backend closes.
 */
final class OpTimes {
    static final boolean ON = System.getenv("STATETUNE_PROFILE") != null;

    private final Map<String, long[]> byOp = new TreeMap<>();   // op → {calls, nanoseconds, of which the host's before the GPU finished}

    void add(String op, long nanos) {
        add(op, nanos, nanos);
    }

    void add(String op, long nanos, long hostNanos) {
        long[] t = byOp.computeIfAbsent(op, k -> new long[3]);
        t[0]++;
        t[1] += nanos;
        t[2] += hostNanos;
    }

    void print() {
        if (byOp.isEmpty()) return;
        long total = byOp.values().stream().mapToLong(t -> t[1]).sum();
        System.err.println("GPU time by op (STATETUNE_PROFILE):");
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).forEach(e ->
                System.err.printf("  %-28s %8d calls %10.1f ms %5.1f%%  (host %8.1f ms)%n", e.getKey(), e.getValue()[0], e.getValue()[1] / 1e6,
                        100.0 * e.getValue()[1] / total, e.getValue()[2] / 1e6));
        long gcMillis = java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).sum();
        System.err.printf("  garbage collection, whole run: %d ms%n", gcMillis);
    }
}
