package dev.statetune.backend;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

/**
 * The CPU's SSD scan against the recurrence it must equal, written here as a plain loop in float64:
 * dt = clamp(softplus(dtRaw + bias)); h_t = exp(dt·A_h)·h_{t−1} + dt·x_t B_tᵀ; y_t = (h_t + h′)·C_t + D_h·x_t + y′.
 * Lengths that are and are not multiples of the chunk, a non-zero initial state, both offsets,
 * several groups, and a head size that is no multiple of the vector length. (The CUDA backend's chunked
 * form is checked against this CPU scan in CudaMamba2Test.)
 */
class Mamba2SsdScanTest {
    static final CpuBackend BACKEND = new CpuBackend(2);

    @AfterAll
    static void close() { BACKEND.close(); }

    @ParameterizedTest(name = "len {0}, chunk {1}, groups {2}")
    @CsvSource({"1, 8, 2", "7, 8, 2", "8, 8, 2", "16, 8, 1", "21, 8, 2", "21, 4, 4", "45, 64, 2", "13, 1, 1"})
    void scanEqualsTheRecurrence(int len, int chunk, int groups) {
        SsdDims dims = new SsdDims(4, 5, groups, 6, chunk);
        int batch = 2, nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), di = dims.innerDim();
        int dtCol = 3, width = dtCol + nh + 2;   // dt sits inside a wider matrix, as in in_proj's output
        SplittableRandom rnd = new SplittableRandom(len * 31L + chunk * 7L + groups);
        Tensor xBC = random(rnd, 1, batch * len, dims.convDim()), dtRaw = random(rnd, 1, batch * len, width);
        Tensor dtBias = random(rnd, 0.5, nh), A = Tensor.of(new float[] {-0.3f, -1f, -2.5f, -0.05f}, nh), D = random(rnd, 1, nh);
        Tensor h0 = random(rnd, 1, batch, nh, p, n), hOff = random(rnd, 0.3, nh, p, n), yOff = random(rnd, 0.3, nh, p);
        float dtMin = 0.05f, dtMax = 1.5f;

        Tensor state = Tensor.of(h0.toFloatArray().clone(), h0.shape()), y = BACKEND.allocate(batch * len, di);
        BACKEND.ssdScan(xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, dims, batch, len, state, hOff, yOff, y);

        float[] x = xBC.toFloatArray(), dr = dtRaw.toFloatArray(), bias = dtBias.toFloatArray(), a = A.toFloatArray(), d = D.toFloatArray();
        float[] h = h0.toFloatArray(), ho = hOff.toFloatArray(), yo = yOff.toFloatArray(), expected = new float[batch * len * di];
        int conv = dims.convDim();
        for (int s = 0; s < batch; s++)
            for (int t = 0; t < len; t++) {
                int row = s * len + t;
                for (int hd = 0; hd < nh; hd++) {
                    int g = dims.group(hd), bCol = di + g * n, cCol = di + groups * n + g * n;
                    double dt = Math.log1p(Math.exp(dr[row * width + dtCol + hd] + bias[hd]));
                    dt = Math.min(Math.max(dt, dtMin), dtMax);
                    double decay = Math.exp(dt * a[hd]);
                    for (int i = 0; i < p; i++) {
                        double xv = x[row * conv + hd * p + i], acc = d[hd] * xv + yo[hd * p + i];
                        for (int k = 0; k < n; k++) {
                            int at = ((s * nh + hd) * p + i) * n + k;
                            h[at] = (float) (decay * h[at] + dt * xv * x[row * conv + bCol + k]);
                            acc += (h[at] + ho[(hd * p + i) * n + k]) * x[row * conv + cCol + k];
                        }
                        expected[row * di + hd * p + i] = (float) acc;
                    }
                }
            }
        Fixtures.assertClose(expected, y.toFloatArray(), 1e-5, 1e-5, "y");
        Fixtures.assertClose(h, state.toFloatArray(), 1e-5, 1e-5, "final state");
    }

    static Tensor random(SplittableRandom rnd, double scale, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * (2 * rnd.nextDouble() - 1));
        return Tensor.of(v, shape);
    }
}
