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

    private final Map<String, long[]> byOp = new TreeMap<>();   // op → {calls, nanoseconds}

    void add(String op, long nanos) {
        long[] t = byOp.computeIfAbsent(op, k -> new long[2]);
        t[0]++;
        t[1] += nanos;
    }

    void print() {
        if (byOp.isEmpty()) return;
        long total = byOp.values().stream().mapToLong(t -> t[1]).sum();
        System.err.println("GPU time by op (STATETUNE_PROFILE):");
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).forEach(e ->
                System.err.printf("  %-28s %8d calls %10.1f ms %5.1f%%%n", e.getKey(), e.getValue()[0], e.getValue()[1] / 1e6,
                        100.0 * e.getValue()[1] / total));
    }
}
