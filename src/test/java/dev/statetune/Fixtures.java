package dev.statetune;

import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Test resources, the built-in tiny model, and float comparisons that report what differs. */
public final class Fixtures {
    private Fixtures() {}

    public static Path resource(String name) {
        var url = Fixtures.class.getClassLoader().getResource(name);
        if (url == null) throw new AssertionError("test resource not found: " + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The transformers-written tiny Mamba (hidden 96, 3 layers, vocab 1000) bundled as the built-in
     * model: its resource directory, or its extracted copy when the classes run from a jar (GPU machine).
     */
    public static Path tinyModel() {
        var url = Fixtures.class.getClassLoader().getResource("dev/statetune/tiny-mamba");
        return url != null && url.getProtocol().equals("file") ? resource("dev/statetune/tiny-mamba") : dev.statetune.io.BuiltinModel.directory();
    }

    /** Fails with the worst difference and the first differing values unless |a−b| ≤ atol + rtol·|b| everywhere. */
    public static void assertClose(float[] expected, float[] actual, double atol, double rtol, String what) {
        if (expected.length != actual.length) fail(what + ": lengths " + expected.length + " vs " + actual.length);
        double worst = 0;
        int worstAt = -1, bad = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]);
            if (!(diff <= atol + rtol * Math.abs(expected[i]))) {
                if (bad++ < 5) first.append(String.format(" [%d] expected %.7g got %.7g;", i, expected[i], actual[i]));
            }
            if (diff > worst || Double.isNaN(diff)) { worst = diff; worstAt = i; }
        }
        assertTrue(bad == 0, what + ": " + bad + " of " + expected.length + " values differ, max |diff| " + worst
                + " at " + worstAt + ";" + first);
    }

    /** An integer (batch, len) tensor of a fixture as id arrays. */
    public static int[][] ids(dev.statetune.tensor.Tensor t) {
        int b = (int) t.size(0), l = (int) t.size(1);
        int[][] out = new int[b][l];
        for (int i = 0; i < b; i++) for (int j = 0; j < l; j++) out[i][j] = (int) t.getLong((long) i * l + j);
        return out;
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    /**
     * Logits (batch·len, vocab) of ids (batch, len) fed one column at a time to step (a model's
     * decode step on a state it keeps), laid out as a whole-sequence forward lays them out.
     */
    public static float[] stepwiseLogits(int[][] ids, int vocab, java.util.function.Function<int[], float[]> step) {
        int b = ids.length, l = ids[0].length;
        float[] stepped = new float[b * l * vocab];
        for (int t = 0; t < l; t++) {
            int[] column = new int[b];
            for (int s = 0; s < b; s++) column[s] = ids[s][t];
            float[] logits = step.apply(column);
            for (int s = 0; s < b; s++) System.arraycopy(logits, s * vocab, stepped, (s * l + t) * vocab, vocab);
        }
        return stepped;
    }
}
