package dev.statetune.backend.cuda;

import dev.statetune.Fixtures;
import dev.statetune.backend.Backend;
import dev.statetune.generate.BeamSearch;
import dev.statetune.generate.GreedySearch;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CUDA backend against the CPU backend: every forward op on random inputs, then whole models
 * (logits, greedy and beam-search ids, with an adapter). Skipped, saying so, without a GPU; run on
 * the GPU machine (../shared/device/README.md).
 */
class CudaBackendTest extends CudaVsCpu {
    static final SplittableRandom RANDOM = new SplittableRandom(11);

    static Tensor random(long... shape) {  // uniform in (−1, 1), from one seeded stream
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) RANDOM.nextDouble(-1, 1);
        return Tensor.of(v, shape);
    }

    /** A GPU copy of a host tensor. */
    static Tensor gpu(Tensor host) {
        Tensor t = cuda.allocate(host.shape());
        cuda.copy(host, t);
        return t;
    }

    static float[] read(Tensor t) {
        cuda.synchronize();
        return t.toFloatArray();
    }

    @Test
    void aKeptTensorOutlivesItsScopeAndTheRestIsReused() {
        try (Backend.Scope outer = cuda.openScope()) {
            long kept, freed;
            try (Backend.Scope inner = cuda.openScope()) {
                Tensor k = cuda.allocate(100, 10);
                Tensor f = cuda.allocate(100, 10);
                kept = k.data().address();
                freed = f.data().address();
                inner.keep(k.rows(10, 20), null, Tensor.of(new float[] {1}, 1));   // a view keeps its block; foreign tensors are ignored
            }
            java.util.Set<Long> next = new java.util.HashSet<>();
            try (Backend.Scope again = cuda.openScope()) {
                for (int i = 0; i < 2; i++) next.add(cuda.allocate(100, 10).data().address());
            }
            assertFalse(next.contains(kept), "the kept block was handed out again");
            assertTrue(next.contains(freed), "the freed block was not reused");
        }
    }

    @Test
    void theOptimizerOnResidentArraysStepsAsTheCpuBitForBit() {
        int n = 100_003;
        SplittableRandom rnd = new SplittableRandom(8);
        float[][] onCpu = new float[4][n];   // x, g, m, v
        for (float[] a : onCpu) for (int i = 0; i < n; i++) a[i] = (float) rnd.nextDouble(-2, 2);
        for (int i = 0; i < n; i++) onCpu[3][i] = Math.abs(onCpu[3][i]);
        float[][] onGpu = new float[4][];
        for (int k = 0; k < 4; k++) {
            onGpu[k] = onCpu[k].clone();
            cuda.keepResident(Tensor.of(onGpu[k], n));
        }
        float[] before = onGpu[0].clone();
        Backend.AdamWStep s = new Backend.AdamWStep(true, 0.1f, 0.999f, 0.001f, 1e-8f, Tensor.of(new float[] {0.999f, 3e-3f, 0.03f}, 3));
        for (Backend b : List.of(cpu, cuda)) {
            float[][] a = b == cpu ? onCpu : onGpu;
            Tensor x = Tensor.of(a[0], n), g = Tensor.of(a[1], n);
            b.adamwStep(x, g, Tensor.of(a[2], n), Tensor.of(a[3], n), s);
            b.sgdStep(x, g, Tensor.of(new float[] {0.01f}, 1), 0.1f);
            b.scaleInPlace(g, 0.25f);
        }
        cuda.synchronize();
        assertArrayEquals(before, onGpu[0], "the host array is stale until the write-back");
        cuda.writeBackResident();
        for (int k = 0; k < 4; k++) assertArrayEquals(onCpu[k], onGpu[k], "array " + k + " after AdamW, SGD and scaling");
        List<Tensor> grads = List.of(Tensor.of(onGpu[1], n), Tensor.of(onGpu[3], n));
        double expected = sumOfSquares(cpu, grads);
        assertEquals(expected, sumOfSquares(cuda, grads), 1e-10 * expected);
        cuda.zero(Tensor.of(onGpu[1], n));
        cuda.dropResident();
        assertArrayEquals(new float[n], onGpu[1], "zeroed on the GPU, written back when dropped");
    }

    @Test
    void elementwiseAndNormOpsMatchTheCpu() {
        Tensor x = random(37, 96), w = random(96), cpuOut = cpu.allocate(37, 96), gpuOut = cuda.allocate(37, 96);
        cpu.rmsNorm(x, w, 1e-5f, cpuOut);
        cuda.rmsNorm(gpu(x), gpu(w), 1e-5f, gpuOut);
        Fixtures.assertClose(cpuOut.toFloatArray(), read(gpuOut), 1e-5, 1e-5, "rmsNorm");

        Tensor residual = random(37, 96), add = random(37, 96), gResidual = gpu(residual), gNormed = cuda.allocate(37, 96);
        cpu.addRmsNorm(residual, add, w, 1e-5f, cpuOut);   // the CPU: addInPlace, then rmsNorm
        cuda.addRmsNorm(gResidual, gpu(add), gpu(w), 1e-5f, gNormed);
        assertArrayEquals(residual.toFloatArray(), read(gResidual), "addRmsNorm's residual");
        Fixtures.assertClose(cpuOut.toFloatArray(), read(gNormed), 1e-5, 1e-5, "addRmsNorm's norm");

        Tensor cols = cpu.allocate(37, 20), gcols = cuda.allocate(37, 20);
        cpu.copyColumns(x, 30, cols);
        cuda.copyColumns(gpu(x), 30, gcols);
        assertArrayEquals(cols.toFloatArray(), read(gcols), "copyColumns");

        Tensor acc = random(37, 96), src = random(37, 20), gacc = gpu(acc);
        cpu.addScaledColumns(acc, 50, src, 0.5f);
        cuda.addScaledColumns(gacc, 50, gpu(src), 0.5f);
        Fixtures.assertClose(acc.toFloatArray(), read(gacc), 1e-6, 1e-6, "addScaledColumns");

        Tensor a = random(37, 96), b = random(37, 96), ga = gpu(a);
        cpu.addInPlace(a, b);
        cuda.addInPlace(ga, gpu(b));
        Fixtures.assertClose(a.toFloatArray(), read(ga), 1e-6, 1e-6, "addInPlace");
        cpu.multiplyInPlace(a, b);
        cuda.multiplyInPlace(ga, gpu(b));
        Fixtures.assertClose(a.toFloatArray(), read(ga), 1e-6, 1e-6, "multiplyInPlace");

        int[] ids = {3, 0, 99, 42, 3};
        Tensor table = random(100, 24), e = cpu.allocate(5, 24), ge = cuda.allocate(5, 24);
        cpu.embedding(table, ids, e);
        cuda.embedding(gpu(table), ids, ge);
        assertArrayEquals(e.toFloatArray(), read(ge), "embedding");
    }

    /** Rows as long as a vocabulary, cut into parts on the GPU: the first index of each row's largest value, ties included. */
    @Test
    void argmaxRowsFindTheFirstLargestValue() {
        int rows = 5, width = 70_001;
        float[] v = random(rows, width).toFloatArray();
        v[2 * width + 40_000] = 3f;   // a tie across parts: the earlier wins
        v[2 * width + 69_999] = 3f;
        v[3 * width + 17] = 2f;   // a tie within a part
        v[3 * width + 18] = 2f;
        v[4 * width + width - 1] = 5f;   // the very last column
        Tensor logits = Tensor.of(v, rows, width);
        int[] expected = cpu.argmaxRows(logits), got = cuda.argmaxRows(gpu(logits));
        assertArrayEquals(expected, got);
        assertEquals(40_000, expected[2]);
        assertEquals(17, expected[3]);
        assertEquals(width - 1, expected[4]);
    }

    /**
     * With --dtype bf16, a linear reads the bf16 copy that the norm, the conv and the scan write beside an
     * allocateLinearInput tensor: the same bits as its own rounding of the tensor. Once another op writes the
     * tensor (or a view of some of its rows), the copy is stale and the linear rounds the tensor again.
     */
    @Test
    void aLinearInputsBf16CopyGivesTheLinearsOwnRoundingAndNeverGoesStale() {
        try (CudaBackend half = new CudaBackend(0, true)) {
            Tensor x = random(37, 64), w = half.prepareWeight(random(96, 64)), norm = random(64), other = random(37, 64);
            Tensor withCopy = half.allocateLinearInput(37, 64), plain = half.allocate(37, 64);
            half.rmsNorm(x, norm, 1e-5f, withCopy);
            half.rmsNorm(x, norm, 1e-5f, plain);
            Tensor out1 = half.allocate(37, 96), out2 = half.allocate(37, 96);
            half.linear(withCopy, 0, w, null, out1);
            half.linear(plain, 0, w, null, out2);
            half.synchronize();
            assertArrayEquals(out2.toFloatArray(), out1.toFloatArray(), "the norm's copy against the linear's rounding");

            half.copy(other.rows(5, 9), withCopy.rows(5, 9));   // a write to some of its rows
            half.copy(withCopy, plain);
            half.linear(withCopy, 0, w, null, out1);
            half.linear(plain, 0, w, null, out2);
            half.synchronize();
            assertArrayEquals(out2.toFloatArray(), out1.toFloatArray(), "after a copy into its rows");

            int batch = 2, len = 20, di = 64, k = 4;   // the conv's and the scan's copies
            Tensor in = random(batch * len, 2 * di), cw = random(di, 1, k), convOut = half.allocateLinearInput(batch * len, di);
            half.causalConv1dSilu(in, 0, batch, len, cw, null, half.allocate(batch, di, k - 1), convOut);
            Tensor dt = random(batch * len, di), A = random(di, 16), bc = random(batch * len, 32), D = random(di);
            Tensor y = half.allocateLinearInput(batch * len, di), wy = half.prepareWeight(random(48, di));
            half.selectiveScan(convOut, dt, A, bc, 0, D, in, di, batch, len, half.allocate(batch, di, 16), null, null, y);
            for (Tensor t : new Tensor[] {convOut, y}) {
                Tensor same = half.allocate(batch * len, di), o1 = half.allocate(batch * len, 48), o2 = half.allocate(batch * len, 48);
                half.copy(t, same);
                half.linear(t, 0, wy, null, o1);
                half.linear(same, 0, wy, null, o2);
                half.synchronize();
                assertArrayEquals(o2.toFloatArray(), o1.toFloatArray(), "a copy written by the " + (t == y ? "scan" : "conv"));
            }
        }
    }

    @Test
    void linearMatchesTheCpuWithAColumnOffsetAndBias() {
        Tensor x = random(33, 70), w = random(50, 60), bias = random(50);
        Tensor out = cpu.allocate(33, 50), gout = cuda.allocate(33, 50);
        cpu.linear(x, 7, w, bias, out);
        cuda.linear(gpu(x), 7, cuda.prepareWeight(w), gpu(bias), gout);
        Fixtures.assertClose(out.toFloatArray(), read(gout), 1e-5, 1e-5, "linear");
    }

    @Test
    void convAndScanMatchTheCpuFromNonZeroStatesWithSeams() {
        int batch = 3, di = 40;
        for (int len : new int[] {13, 150, 1, 2})   // 150: several chunks of positions; 1 and 2: shorter than the window
            for (int k : new int[] {4, 3}) {
                Tensor in = random(batch * len, 2 * di), weight = random(di, 1, k), bias = random(di), state = random(batch, di, k - 1);
                Tensor out = cpu.allocate(batch * len, di), gout = cuda.allocate(batch * len, di), gstate = gpu(state);
                int inCol = k == 3 ? 11 : 0;   // x from a column of in (Mamba-2's xBC) or its first
                cpu.causalConv1dSilu(in, inCol, batch, len, weight, bias, state, out);
                cuda.causalConv1dSilu(gpu(in), inCol, batch, len, gpu(weight), gpu(bias), gstate, gout);
                Fixtures.assertClose(out.toFloatArray(), read(gout), 1e-5, 1e-5, "conv output, len " + len + ", k " + k);
                Fixtures.assertClose(state.toFloatArray(), read(gstate), 1e-6, 1e-6, "conv state, len " + len + ", k " + k);
            }
        for (int[] shape : new int[][] {{16, 13}, {8, 13}, {24, 13}, {5, 13}, {16, 150}, {5, 200}, {64, 70}, {100, 40}, {16, 1}, {5, 1}, {100, 1}, {4, 1}, {64, 1}, {128, 1}})
            // {n, len}: 150, 200 and 70 run chunked; n 64, 100: several states a lane; len 1: the decode step's kernel (n 4 to 128 in fours)
            scanMatches(batch, shape[1], di, shape[0]);
    }

    /**
     * A decode step with dt_proj inside the scan's kernel (selectiveScanStep) against the CPU's linear then
     * scan: float32 and bf16 weights (the CPU reads the bf16 values), state sizes the step kernel takes and one it
     * does not (5: the linear, then the scan).
     */
    @Test
    void aDecodeStepWithDtProjInsideTheScanMatchesTheLinearThenTheScan() {
        int batch = 3, di = 40, r = 32;
        try (CudaBackend half = new CudaBackend(0, true)) {
            for (int n : new int[] {16, 5, 64})
                for (CudaBackend gpu : new CudaBackend[] {cuda, half}) {
                    Tensor dtIn = random(batch, r + 2 * n), dtProj = random(di, r), bias = random(di), x = random(batch, di);
                    Tensor z = random(batch, 2 * di), D = random(di), h = random(batch, di, n), hOff = random(di, n), yOff = random(di);
                    float[] a = random(di, n).toFloatArray();
                    for (int i = 0; i < a.length; i++) a[i] = -Math.abs(a[i]) - 0.1f;
                    Tensor A = Tensor.of(a, di, n), w = gpu.prepareWeight(dtProj), wOnCpu = Tensor.of(w.toFloatArray(), w.shape());
                    Tensor hCpu = Tensor.of(h.toFloatArray(), h.shape()), hGpu = Tensor.of(h.toFloatArray(), h.shape());
                    Tensor yCpu = cpu.allocate(batch, di), yGpu = gpu.allocate(batch, di);
                    cpu.selectiveScanStep(dtIn, wOnCpu, bias, cpu.allocate(batch, di), x, A, dtIn, r, D, z, di, batch, hCpu, hOff, yOff, yCpu);
                    gpu.selectiveScanStep(dtIn, w, bias, gpu.allocate(batch, di), x, A, dtIn, r, D, z, di, batch, hGpu, hOff, yOff, yGpu);
                    gpu.synchronize();
                    String what = "n " + n + (gpu == half ? ", bf16 dt_proj" : "");
                    double tol = gpu == half && n == 5 ? 2e-2 : 1e-4;   // the fallback's bf16 linear rounds dtIn as well
                    Fixtures.assertClose(yCpu.toFloatArray(), yGpu.toFloatArray(), tol, tol, "step y, " + what);
                    Fixtures.assertClose(hCpu.toFloatArray(), hGpu.toFloatArray(), tol, tol, "step state, " + what);
                }
        }
    }

    /** The scan on both backends from a random state with both offsets, {batch, len} sequences of di channels. */
    static void scanMatches(int batch, int len, int di, int stateDim) {
        Tensor x = random(batch * len, di), dt = random(batch * len, di), bc = random(batch * len, 3 + 2 * stateDim);
        Tensor z = random(batch * len, 2 * di), D = random(di), h = random(batch, di, stateDim);
        Tensor hOff = random(di, stateDim), yOff = random(di);
        float[] a = random(di, stateDim).toFloatArray(), dts = dt.toFloatArray();
        for (int i = 0; i < a.length; i++) a[i] = -Math.abs(a[i]) - 0.1f;
        for (int i = 0; i < dts.length; i++) dts[i] = Math.abs(dts[i]) * 0.2f;
        Tensor A = Tensor.of(a, di, stateDim), dtp = Tensor.of(dts, batch * len, di);
        Tensor y = cpu.allocate(batch * len, di), gy = cuda.allocate(batch * len, di), gh = gpu(h);
        cpu.selectiveScan(x, dtp, A, bc, 3, D, z, di, batch, len, h, hOff, yOff, y);
        cuda.selectiveScan(gpu(x), gpu(dtp), gpu(A), gpu(bc), 3, gpu(D), gpu(z), di, batch, len, gh, hOff, yOff, gy);
        Fixtures.assertClose(y.toFloatArray(), read(gy), 1e-5, 1e-4, "scan y, n=" + stateDim + ", len " + len);
        Fixtures.assertClose(h.toFloatArray(), read(gh), 1e-5, 1e-4, "scan state, n=" + stateDim + ", len " + len);
    }

    static double sumOfSquares(Backend b, List<Tensor> ts) {
        Tensor sum = b.allocateSums(1);
        b.sumOfSquares(ts, sum);
        b.synchronize();
        return sum.getDouble(0);
    }

    @Test
    void clippingIsDecidedOnTheGpuAsOnTheCpu() {
        int n = 5_003;
        for (float spread : new float[] {1e-3f, 10f, Float.NaN}) {   // below the maximum, above it, not finite
            float[][] onCpu = {new float[n], new float[7]};
            SplittableRandom rnd = new SplittableRandom(4);
            float bound = Float.isNaN(spread) ? 1 : spread;
            for (float[] a : onCpu) for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextDouble(-bound, bound);
            if (Float.isNaN(spread)) onCpu[1][3] = Float.NaN;
            float[][] onGpu = {onCpu[0].clone(), onCpu[1].clone()};
            for (Backend b : List.of(cpu, cuda)) {
                float[][] a = b == cpu ? onCpu : onGpu;
                List<Tensor> ts = List.of(Tensor.of(a[0], n), Tensor.of(a[1], 7));
                Tensor sum = b.allocateSums(1);
                b.sumOfSquares(ts, sum);
                b.clipToNorm(ts, sum, 1.5);
                b.synchronize();
            }
            for (int k = 0; k < 2; k++) assertArrayEquals(onCpu[k], onGpu[k], "spread " + spread + ", tensor " + k);
        }
    }

    static MambaLM model(Backend b, Path dir) {
        return new MambaLM(Checkpoint.open(dir), b);
    }

    @Test
    void modelsGiveTheCpuLogitsGreedyAndBeamIds() {
        for (Path dir : List.of(Fixtures.tinyModel(), Fixtures.resource("fixtures/mamba1/variant"))) {
            try (MambaLM onCpu = model(cpu, dir); MambaLM onGpu = model(cuda, dir)) {
                int[][] ids = {{5, 9, 33, 400, 7, 1, 2, 3, 4, 5, 6}, {12, 800, 3, 3, 91, 17, 250, 8, 9, 10, 11}};
                float[] expected = onCpu.forward(ids, onCpu.newState(2)).toFloatArray();
                float[] got = onGpu.forward(ids, onGpu.newState(2)).toFloatArray();
                System.out.printf("%s: max |logit diff| CUDA vs CPU = %.3g%n", dir.getFileName(), Fixtures.maxAbsDiff(expected, got));
                Fixtures.assertClose(expected, got, 1e-4, 1e-4, dir + " logits");
                List<int[]> prompts = List.of(ids[0], ids[1]);
                List<int[]> greedyCpu = GreedySearch.search(onCpu, prompts, 24, 0), greedyGpu = GreedySearch.search(onGpu, prompts, 24, 0);
                for (int i = 0; i < 2; i++) assertArrayEquals(greedyCpu.get(i), greedyGpu.get(i), "greedy " + i);
                BeamSearch.Options o = new BeamSearch.Options(5, 1.0, 16, 0);
                List<BeamSearch.Hypothesis> beamCpu = BeamSearch.search(onCpu, prompts, o), beamGpu = BeamSearch.search(onGpu, prompts, o);
                for (int i = 0; i < 2; i++) assertArrayEquals(beamCpu.get(i).tokens(), beamGpu.get(i).tokens(), "beam " + i);
            }
        }
    }

    @Test
    void anAdapterActsTheSameOnTheGpu() {
        try (MambaLM onCpu = model(cpu, Fixtures.tinyModel()); MambaLM onGpu = model(cuda, Fixtures.tinyModel())) {
            List<Method> methods = List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.LORA);
            Adapter a = Adapter.create(onCpu, methods, MethodOptions.defaults(), 5);
            for (Parameter p : a.parameters()) for (int i = 0; i < p.value.length; i++) p.value[i] = (float) RANDOM.nextDouble(-0.05, 0.05);
            a.attach(onCpu);
            a.attach(onGpu);
            int[][] ids = {{5, 9, 33, 400, 7, 1, 2, 3}};
            Fixtures.assertClose(onCpu.forward(ids, onCpu.newState(1)).toFloatArray(), onGpu.forward(ids, onGpu.newState(1)).toFloatArray(),
                    1e-4, 1e-4, "logits with state offsets and LoRA");
        }
    }

    @Test
    void aRecordedDecodeStepReplaysAsTheStepsRunOpByOp() {
        try (MambaLM lm = model(cuda, Fixtures.tinyModel());
             Mamba2LM lm2 = new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny")), cuda)) {
            replaysMatch(lm, "Mamba-1");
            replaysMatch(lm2, "Mamba-2");
            Adapter a = Adapter.create(lm, List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.LORA), MethodOptions.defaults(), 5);
            for (Parameter p : a.parameters()) for (int i = 0; i < p.value.length; i++) p.value[i] = (float) RANDOM.nextDouble(-0.05, 0.05);
            a.attach(lm);   // its parameters are host arrays: the recording reads them again at every replay
            replaysMatch(lm, "Mamba-1 with state offsets and LoRA");
        }
    }

    /** Four steps replayed from one recording give the logits of four steps run op by op, bit for bit. */
    private static void replaysMatch(LanguageModel lm, String what) {
        int[][] tokens = {{5, 9}, {17, 3}, {250, 42}, {8, 8}};
        DecodeState plain = lm.newState(2), recorded = lm.newState(2);
        try (Backend.StepGraph graph = cuda.captureStep(() -> lm.step(tokens[0], recorded))) {
            assertNotNull(graph, what + ": the step was not recorded");
            for (int[] t : tokens)
                assertArrayEquals(lm.step(t, plain).toFloatArray(), graph.replay(t).toFloatArray(), what + ": replayed logits, ids " + t[0]);
        }
    }

    @Test
    void bf16GemmsStayWithinBf16RoundingOfTheFp32Logits() {
        try (CudaBackend half = new CudaBackend(0, true); MambaLM onCpu = model(cpu, Fixtures.tinyModel()); MambaLM onGpu = model(half, Fixtures.tinyModel())) {
            int[][] ids = {{5, 9, 33, 400, 7, 1, 2, 3, 4, 5, 6}};
            float[] expected = onCpu.forward(ids, onCpu.newState(1)).toFloatArray(), got = onGpu.forward(ids, onGpu.newState(1)).toFloatArray();
            double scale = 0;
            for (float v : expected) scale = Math.max(scale, Math.abs(v));
            double relative = Fixtures.maxAbsDiff(expected, got) / scale;
            System.out.printf("bf16 GEMMs: max |logit diff| / max |logit| = %.3g%n", relative);
            assertTrue(relative < 3e-2, "bf16 logits off by " + relative + " of the largest logit");
            assertTrue(relative > 0, "bf16 GEMMs gave the fp32 logits bit for bit: they did not run in bf16");
        }
    }
}
