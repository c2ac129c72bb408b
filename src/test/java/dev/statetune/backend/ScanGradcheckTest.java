package dev.statetune.backend;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The selective scan with its State-offset seams (h0, h′, y′) against a float64 loop that is
 * PAPER_NOTES.md written out: the CPU forward, and every gradient of the CPU backward against
 * central differences of L = Σ y·G in float64. Sizes are odd on purpose (vector tails, two
 * channel blocks, two sequences).
 */
class ScanGradcheckTest {
    static final int BATCH = 2, LEN = 6, INNER = 37, N = 5, R = 3;   // dtBC columns: dt (R) | B (N) | C (N)
    static final int ROWS = BATCH * LEN, BC_WIDTH = R + 2 * N, Z_COL = INNER;   // z sits after x in a (rows, 2·di) matrix
    static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() { CPU.close(); }

    /** Inputs by name, in float64; "xz" holds z at columns [INNER, 2·INNER). */
    static Map<String, double[]> inputs() {
        SplittableRandom rnd = new SplittableRandom(7);
        Map<String, double[]> in = new LinkedHashMap<>();
        in.put("x", gaussian(rnd, ROWS * INNER, 1));
        double[] dt = new double[ROWS * INNER];   // before the scan's softplus: 0.1 to 1.1 after it; a few above its threshold
        for (int i = 0; i < dt.length; i++) dt[i] = i % 97 == 5 ? 21 + rnd.nextDouble() : rnd.nextDouble(-2.2, 0.5);
        in.put("dt", dt);
        in.put("bc", gaussian(rnd, ROWS * BC_WIDTH, 1));
        in.put("xz", gaussian(rnd, ROWS * 2 * INNER, 1));
        double[] A = new double[INNER * N];
        for (int i = 0; i < A.length; i++) A[i] = -Math.exp(rnd.nextDouble(-1, 1.5));
        in.put("A", A);
        in.put("D", gaussian(rnd, INNER, 1));
        in.put("h0", gaussian(rnd, BATCH * INNER * N, 0.5));
        in.put("hOffset", gaussian(rnd, INNER * N, 0.5));
        in.put("yOffset", gaussian(rnd, INNER, 0.5));
        return in;
    }

    static double[] gaussian(SplittableRandom rnd, int size, double scale) {
        double[] v = new double[size];
        for (int i = 0; i < size; i++) v[i] = scale * (rnd.nextDouble() + rnd.nextDouble() + rnd.nextDouble() - 1.5);
        return v;
    }

    /** y (rows, di) by the recurrence of PAPER_NOTES.md, in float64. */
    static double[] reference(Map<String, double[]> in) {
        double[] x = in.get("x"), dt = in.get("dt"), bc = in.get("bc"), xz = in.get("xz"), A = in.get("A"), D = in.get("D");
        double[] h0 = in.get("h0"), hOff = in.get("hOffset"), yOff = in.get("yOffset");
        double[] y = new double[ROWS * INNER];
        for (int s = 0; s < BATCH; s++)
            for (int c = 0; c < INNER; c++) {
                double[] h = new double[N];
                for (int p = 0; p < N; p++) h[p] = h0[(s * INNER + c) * N + p];
                for (int t = 0; t < LEN; t++) {
                    int row = s * LEN + t, i = row * INNER + c;
                    double acc = D[c] * x[i] + yOff[c];
                    double step = dt[i] > 20 ? dt[i] : Math.log1p(Math.exp(dt[i]));   // torch's softplus
                    for (int p = 0; p < N; p++) {
                        h[p] = Math.exp(step * A[c * N + p]) * h[p] + step * bc[row * BC_WIDTH + R + p] * x[i];
                        acc += bc[row * BC_WIDTH + R + N + p] * (h[p] + hOff[c * N + p]);
                    }
                    double z = xz[row * 2 * INNER + Z_COL + c];
                    y[i] = acc * z / (1 + Math.exp(-z));
                }
            }
        return y;
    }

    static Tensor f32(double[] v, long... shape) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.of(f, shape);
    }

    @Test
    void forwardMatchesTheRecurrence() {
        Map<String, double[]> in = inputs();
        Tensor y = Tensor.zeros(ROWS, INNER), state = f32(in.get("h0"), BATCH, INNER, N);
        CPU.selectiveScan(f32(in.get("x"), ROWS, INNER), f32(in.get("dt"), ROWS, INNER), f32(in.get("A"), INNER, N),
                f32(in.get("bc"), ROWS, BC_WIDTH), R, f32(in.get("D"), INNER), f32(in.get("xz"), ROWS, 2 * INNER), Z_COL,
                BATCH, LEN, state, f32(in.get("hOffset"), INNER, N), f32(in.get("yOffset"), INNER), y);
        Fixtures.assertClose(toFloat(reference(in)), y.toFloatArray(), 1e-5, 1e-5, "scan forward");
    }

    @Test
    void everyGradientMatchesCentralDifferences() {
        Map<String, double[]> in = inputs();
        double[] G = gaussian(new SplittableRandom(11), ROWS * INNER, 1);
        ScanGrads g = new ScanGrads(Tensor.zeros(ROWS, INNER), Tensor.zeros(ROWS, INNER), Tensor.zeros(ROWS, BC_WIDTH),
                Tensor.zeros(ROWS, 2 * INNER), Tensor.zeros(INNER, N), Tensor.zeros(INNER), Tensor.zeros(BATCH, INNER, N),
                Tensor.zeros(INNER, N), Tensor.zeros(INNER));
        CPU.selectiveScanBackward(f32(in.get("x"), ROWS, INNER), f32(in.get("dt"), ROWS, INNER), f32(in.get("A"), INNER, N),
                f32(in.get("bc"), ROWS, BC_WIDTH), R, f32(in.get("D"), INNER), f32(in.get("xz"), ROWS, 2 * INNER), Z_COL,
                BATCH, LEN, f32(in.get("h0"), BATCH, INNER, N), f32(in.get("hOffset"), INNER, N), f32(in.get("yOffset"), INNER),
                f32(G, ROWS, INNER), g);
        Map<String, Tensor> grads = new LinkedHashMap<>();
        grads.put("x", g.dx()); grads.put("dt", g.ddt()); grads.put("bc", g.dbc()); grads.put("xz", g.dz());
        grads.put("A", g.dA()); grads.put("D", g.dD()); grads.put("h0", g.dh0());
        grads.put("hOffset", g.dhOffset()); grads.put("yOffset", g.dyOffset());
        for (var e : grads.entrySet()) {
            double[] v = in.get(e.getKey());
            double[] numeric = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                double keep = v[i], eps = 1e-6 * Math.max(1, Math.abs(keep));
                v[i] = keep + eps;
                double plus = dot(reference(in), G);
                v[i] = keep - eps;
                double minus = dot(reference(in), G);
                v[i] = keep;
                numeric[i] = (plus - minus) / (2 * eps);
            }
            if (e.getKey().equals("bc")) for (int row = 0; row < ROWS; row++) for (int p = 0; p < R; p++) numeric[row * BC_WIDTH + p] = 0;  // dt columns belong to dt_proj
            if (e.getKey().equals("xz")) for (int row = 0; row < ROWS; row++) for (int c = 0; c < INNER; c++) numeric[row * 2 * INNER + c] = 0; // x half: not the scan's
            Fixtures.assertClose(toFloat(numeric), e.getValue().toFloatArray(), 2e-4, 2e-3, "d" + e.getKey());
            System.out.printf("scan d%-8s max |analytic − numeric| = %.2e%n", e.getKey(), Fixtures.maxAbsDiff(toFloat(numeric), e.getValue().toFloatArray()));
        }
    }

    /** A second backward into the same ScanGrads writes dx and ddt again (ScanGrads) and adds to the rest. */
    @Test
    void dxAndDdtAreWrittenTheRestAccumulate() {
        Map<String, double[]> in = inputs();
        ScanGrads g = new ScanGrads(Tensor.zeros(ROWS, INNER), Tensor.zeros(ROWS, INNER), Tensor.zeros(ROWS, BC_WIDTH),
                Tensor.zeros(ROWS, 2 * INNER), Tensor.zeros(INNER, N), null, null, null, null);
        float[][] once = null;
        for (int pass = 0; pass < 2; pass++) {
            CPU.selectiveScanBackward(f32(in.get("x"), ROWS, INNER), f32(in.get("dt"), ROWS, INNER), f32(in.get("A"), INNER, N),
                    f32(in.get("bc"), ROWS, BC_WIDTH), R, f32(in.get("D"), INNER), f32(in.get("xz"), ROWS, 2 * INNER), Z_COL,
                    BATCH, LEN, f32(in.get("h0"), BATCH, INNER, N), f32(in.get("hOffset"), INNER, N), f32(in.get("yOffset"), INNER),
                    f32(gaussian(new SplittableRandom(3), ROWS * INNER, 1), ROWS, INNER), g);
            float[][] now = {g.dx().toFloatArray(), g.ddt().toFloatArray(), g.dz().toFloatArray(), g.dA().toFloatArray()};
            if (once == null) once = now;
        }
        assertArrayEquals(once[0], g.dx().toFloatArray(), "dx is written");
        assertArrayEquals(once[1], g.ddt().toFloatArray(), "ddt is written");
        float[] twiceDz = once[2].clone(), twiceDA = once[3].clone();
        for (int i = 0; i < twiceDz.length; i++) twiceDz[i] *= 2;
        for (int i = 0; i < twiceDA.length; i++) twiceDA[i] *= 2;
        Fixtures.assertClose(twiceDz, g.dz().toFloatArray(), 1e-6, 1e-6, "dz accumulates");
        Fixtures.assertClose(twiceDA, g.dA().toFloatArray(), 1e-6, 1e-6, "dA accumulates");
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }
}
