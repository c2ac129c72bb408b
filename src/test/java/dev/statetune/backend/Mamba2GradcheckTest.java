package dev.statetune.backend;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.statetune.backend.ScanGradcheckTest.dot;
import static dev.statetune.backend.ScanGradcheckTest.f32;
import static dev.statetune.backend.ScanGradcheckTest.gaussian;
import static dev.statetune.backend.ScanGradcheckTest.toFloat;

/**
 * The Mamba-2 ops' backward against float64 central differences of L = Σ out·G: the SSD scan with
 * its seams (h0, h′, y′), dt through softplus and a clamp that binds for some positions, several
 * groups and a chunk shorter than the sequence; the gated RMSNorm with two norm groups. The sequence
 * is longer than two of the CPU backward's 16-step recompute stretches, the last one partial.
 */
class Mamba2GradcheckTest {
    static final SsdDims DIMS = new SsdDims(4, 3, 2, 5, 4);
    static final int BATCH = 2, LEN = 37, ROWS = BATCH * LEN, DT_COL = 2, DT_WIDTH = DT_COL + 4 + 1;
    static final float DT_MIN = 0.05f, DT_MAX = 1.1f;
    static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() { CPU.close(); }

    static Map<String, double[]> scanInputs() {
        SplittableRandom rnd = new SplittableRandom(5);
        int nh = DIMS.nHeads(), pn = DIMS.headDim() * DIMS.stateDim();
        Map<String, double[]> in = new LinkedHashMap<>();
        in.put("xBC", gaussian(rnd, ROWS * DIMS.convDim(), 1));
        in.put("dtRaw", gaussian(rnd, ROWS * DT_WIDTH, 1.5));
        in.put("dtBias", gaussian(rnd, nh, 0.5));
        double[] A = new double[nh];
        for (int h = 0; h < nh; h++) A[h] = -Math.exp(rnd.nextDouble(-1, 1));
        in.put("A", A);
        in.put("D", gaussian(rnd, nh, 1));
        in.put("h0", gaussian(rnd, BATCH * nh * pn, 0.5));
        in.put("hOffset", gaussian(rnd, nh * pn, 0.5));
        in.put("yOffset", gaussian(rnd, nh * DIMS.headDim(), 0.5));
        return in;
    }

    /** y (rows, di) by the recurrence of PAPER_NOTES.md's Mamba-2 analogue, in float64. */
    static double[] scanReference(Map<String, double[]> in) {
        double[] xBC = in.get("xBC"), raw = in.get("dtRaw"), bias = in.get("dtBias"), A = in.get("A"), D = in.get("D");
        double[] h0 = in.get("h0"), hOff = in.get("hOffset"), yOff = in.get("yOffset");
        int nh = DIMS.nHeads(), p = DIMS.headDim(), n = DIMS.stateDim(), ng = DIMS.nGroups(), di = DIMS.innerDim(), conv = DIMS.convDim();
        double[] y = new double[ROWS * di];
        for (int s = 0; s < BATCH; s++)
            for (int hd = 0; hd < nh; hd++) {
                int g = DIMS.group(hd), bCol = di + g * n, cCol = di + ng * n + g * n;
                double[] h = new double[p * n];
                System.arraycopy(h0, (s * nh + hd) * p * n, h, 0, p * n);
                for (int t = 0; t < LEN; t++) {
                    int row = s * LEN + t;
                    double dt = Math.min(Math.max(Math.log1p(Math.exp(raw[row * DT_WIDTH + DT_COL + hd] + bias[hd])), DT_MIN), DT_MAX);
                    double decay = Math.exp(dt * A[hd]);
                    for (int i = 0; i < p; i++) {
                        double xv = xBC[row * conv + hd * p + i], acc = D[hd] * xv + yOff[hd * p + i];
                        for (int k = 0; k < n; k++) {
                            h[i * n + k] = decay * h[i * n + k] + dt * xv * xBC[row * conv + bCol + k];
                            acc += (h[i * n + k] + hOff[(hd * p + i) * n + k]) * xBC[row * conv + cCol + k];
                        }
                        y[row * di + hd * p + i] = acc;
                    }
                }
            }
        return y;
    }

    @Test
    void ssdScanGradientsMatchCentralDifferences() {
        Map<String, double[]> in = scanInputs();
        int nh = DIMS.nHeads(), p = DIMS.headDim(), n = DIMS.stateDim();
        double[] G = gaussian(new SplittableRandom(13), ROWS * DIMS.innerDim(), 1);
        SsdGrads g = new SsdGrads(Tensor.zeros(ROWS, DIMS.convDim()), Tensor.zeros(ROWS, DT_WIDTH), Tensor.zeros(nh), Tensor.zeros(nh),
                Tensor.zeros(nh), Tensor.zeros(BATCH, nh, p, n), Tensor.zeros(nh, p, n), Tensor.zeros(nh, p));
        Tensor y = CPU.allocate(ROWS, DIMS.innerDim()), state = f32(in.get("h0"), BATCH, nh, p, n);
        CPU.ssdScan(f32(in.get("xBC"), ROWS, DIMS.convDim()), f32(in.get("dtRaw"), ROWS, DT_WIDTH), DT_COL, f32(in.get("dtBias"), nh),
                DT_MIN, DT_MAX, f32(in.get("A"), nh), f32(in.get("D"), nh), DIMS, BATCH, LEN, state,
                f32(in.get("hOffset"), nh, p, n), f32(in.get("yOffset"), nh, p), y);
        Fixtures.assertClose(toFloat(scanReference(in)), y.toFloatArray(), 1e-5, 1e-5, "ssd forward");
        CPU.ssdScanBackward(f32(in.get("xBC"), ROWS, DIMS.convDim()), f32(in.get("dtRaw"), ROWS, DT_WIDTH), DT_COL, f32(in.get("dtBias"), nh),
                DT_MIN, DT_MAX, f32(in.get("A"), nh), f32(in.get("D"), nh), DIMS, BATCH, LEN, f32(in.get("h0"), BATCH, nh, p, n),
                f32(in.get("hOffset"), nh, p, n), f32(in.get("yOffset"), nh, p), f32(G, ROWS, DIMS.innerDim()), g);
        Map<String, Tensor> grads = new LinkedHashMap<>();
        grads.put("xBC", g.dxBC()); grads.put("dtRaw", g.dDtRaw()); grads.put("dtBias", g.dDtBias()); grads.put("A", g.dA());
        grads.put("D", g.dD()); grads.put("h0", g.dh0()); grads.put("hOffset", g.dhOffset()); grads.put("yOffset", g.dyOffset());
        float[] dDt = g.dDtRaw().toFloatArray();
        int clamped = 0;
        for (int row = 0; row < ROWS; row++) for (int h = 0; h < nh; h++) if (dDt[row * DT_WIDTH + DT_COL + h] == 0) clamped++;
        assertTrue(clamped > 0 && clamped < ROWS * nh, clamped + " clamped dt values: the clamp must bind for some, not all");
        check(in, grads, G, Mamba2GradcheckTest::scanReference, "ssd");
    }

    static final int NORM_WIDTH = 10, NORM_GROUP = 5, Z_COL = 3, Z_WIDTH = Z_COL + NORM_WIDTH + 2;
    static final float NORM_EPS = 1e-5f;

    static Map<String, double[]> normInputs() {
        SplittableRandom rnd = new SplittableRandom(17);
        Map<String, double[]> in = new LinkedHashMap<>();
        in.put("y", gaussian(rnd, ROWS * NORM_WIDTH, 1.5));
        in.put("z", gaussian(rnd, ROWS * Z_WIDTH, 2));
        double[] w = gaussian(rnd, NORM_WIDTH, 0.5);
        for (int c = 0; c < w.length; c++) w[c] += 1;
        in.put("weight", w);
        return in;
    }

    /** out (rows, w) = v / sqrt(mean_group(v²) + eps) ⊙ weight, v = y ⊙ silu(z), in float64. */
    static double[] normReference(Map<String, double[]> in) {
        double[] y = in.get("y"), z = in.get("z"), w = in.get("weight"), out = new double[ROWS * NORM_WIDTH];
        for (int t = 0; t < ROWS; t++)
            for (int c0 = 0; c0 < NORM_WIDTH; c0 += NORM_GROUP) {
                double[] v = new double[NORM_GROUP];
                double sq = 0;
                for (int c = 0; c < NORM_GROUP; c++) {
                    double zv = z[t * Z_WIDTH + Z_COL + c0 + c];
                    v[c] = y[t * NORM_WIDTH + c0 + c] * zv / (1 + Math.exp(-zv));
                    sq += v[c] * v[c];
                }
                double r = 1 / Math.sqrt(sq / NORM_GROUP + NORM_EPS);
                for (int c = 0; c < NORM_GROUP; c++) out[t * NORM_WIDTH + c0 + c] = v[c] * r * w[c0 + c];
            }
        return out;
    }

    @Test
    void gatedRmsNormGradientsMatchCentralDifferences() {
        Map<String, double[]> in = normInputs();
        double[] G = gaussian(new SplittableRandom(19), ROWS * NORM_WIDTH, 1);
        Tensor y = f32(in.get("y"), ROWS, NORM_WIDTH), z = f32(in.get("z"), ROWS, Z_WIDTH), w = f32(in.get("weight"), NORM_WIDTH);
        Tensor out = CPU.allocate(ROWS, NORM_WIDTH);
        CPU.gatedRmsNorm(y, z, Z_COL, w, NORM_GROUP, NORM_EPS, out);
        Fixtures.assertClose(toFloat(normReference(in)), out.toFloatArray(), 1e-5, 1e-5, "gated norm forward");
        Map<String, Tensor> grads = new LinkedHashMap<>();
        grads.put("y", Tensor.zeros(ROWS, NORM_WIDTH));
        grads.put("z", Tensor.zeros(ROWS, Z_WIDTH));
        grads.put("weight", Tensor.zeros(NORM_WIDTH));
        CPU.gatedRmsNormBackward(y, z, Z_COL, w, NORM_GROUP, NORM_EPS, f32(G, ROWS, NORM_WIDTH), grads.get("y"), grads.get("z"), grads.get("weight"));
        check(in, grads, G, Mamba2GradcheckTest::normReference, "gated norm");
    }

    /** Each analytic gradient against (L(v+ε) − L(v−ε)) / 2ε of L = Σ f(in)·G, every element. */
    static void check(Map<String, double[]> in, Map<String, Tensor> grads, double[] G, Function<Map<String, double[]>, double[]> f, String op) {
        for (var e : grads.entrySet()) {
            double[] v = in.get(e.getKey()), numeric = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                double keep = v[i], eps = 1e-6 * Math.max(1, Math.abs(keep));
                v[i] = keep + eps;
                double plus = dot(f.apply(in), G);
                v[i] = keep - eps;
                double minus = dot(f.apply(in), G);
                v[i] = keep;
                numeric[i] = (plus - minus) / (2 * eps);
            }
            float[] analytic = e.getValue().toFloatArray();
            System.out.printf("%s d%-8s max |analytic − numeric| = %.2e%n", op, e.getKey(), Fixtures.maxAbsDiff(toFloat(numeric), analytic));
            Fixtures.assertClose(toFloat(numeric), analytic, 2e-4, 2e-3, op + " d" + e.getKey());
        }
    }
}
