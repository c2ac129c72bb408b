package dev.statetune.backend.cuda;

import dev.statetune.Fixtures;
import dev.statetune.backend.Backend;
import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.data.Example;
import dev.statetune.data.LateSignalTask;
import dev.statetune.generate.GreedySearch;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import dev.statetune.train.Trainer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Mamba-2 on the CUDA backend against the CPU backend: the SSD scan and the gated RMSNorm, forward
 * and every gradient, on random inputs (lengths that are no multiple of the chunk, several groups,
 * with and without seams and an initial state; lengths that span several of the CUDA scan's chunks of
 * time, up to 32 steps forward and 6 backward at state 128, one within a chunk, and single decode steps
 * at state sizes 32 to 128); the tiny fixtures' logits and greedy ids; 20 training steps of adapters
 * with the same losses. Skipped, saying so, without a GPU.
 */
class CudaMamba2Test extends CudaVsCpu {
    static final MethodOptions OPTIONS = MethodOptions.defaults().withLoraTargets(MethodOptions.MAMBA2_LORA_TARGETS);
    @TempDir Path dir;


    static Tensor random(SplittableRandom rnd, double scale, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * rnd.nextDouble(-1, 1));
        return Tensor.of(v, shape);
    }

    static Tensor copyOf(Tensor t) {
        return Tensor.of(t.toFloatArray().clone(), t.shape());
    }

    static void same(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        System.out.printf("  %-40s max |CUDA − CPU| = %.3g%n", what, Fixtures.maxAbsDiff(e, a));
        Fixtures.assertClose(e, a, atol, rtol, what);
    }

    /** One scan problem: sizes, inputs, seams (null when off). */
    record Scan(SsdDims dims, int batch, int len, int dtCol, float dtMin, float dtMax, Tensor xBC, Tensor dtRaw, Tensor dtBias,
                Tensor A, Tensor D, Tensor h0, Tensor hOffset, Tensor yOffset) {
        static Scan random(int nHeads, int headDim, int nGroups, int n, int chunk, int batch, int len, boolean seams, boolean clamp, long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            SsdDims dims = new SsdDims(nHeads, headDim, nGroups, n, chunk);
            int dtCol = 5, width = dtCol + nHeads + 3;   // dt inside a wider matrix, as in in_proj's output
            float[] a = new float[nHeads];
            for (int h = 0; h < nHeads; h++) a[h] = (float) -(0.05 + 2 * rnd.nextDouble());
            return new Scan(dims, batch, len, dtCol, clamp ? 0.05f : 0f, clamp ? 1.5f : Float.POSITIVE_INFINITY,
                    CudaMamba2Test.random(rnd, 1, (long) batch * len, dims.convDim()), CudaMamba2Test.random(rnd, 1.5, (long) batch * len, width),
                    CudaMamba2Test.random(rnd, 0.5, nHeads), Tensor.of(a, nHeads), CudaMamba2Test.random(rnd, 1, nHeads),
                    seams ? CudaMamba2Test.random(rnd, 1, batch, nHeads, headDim, n) : null,
                    seams ? CudaMamba2Test.random(rnd, 0.3, nHeads, headDim, n) : null, seams ? CudaMamba2Test.random(rnd, 0.3, nHeads, headDim) : null);
        }

        /** y (b·len, di) and the final state of the scan on b, from h0 (zeros when null). */
        Tensor[] forward(Backend b) {
            Tensor state = h0 != null ? copyOf(h0) : Tensor.zeros(batch, dims.nHeads(), dims.headDim(), dims.stateDim());
            Tensor y = Tensor.zeros((long) batch * len, dims.innerDim());
            b.ssdScan(xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, dims, batch, len, state, hOffset, yOffset, y);
            b.synchronize();
            return new Tensor[] {y, state};
        }

        /** Every gradient for dy, accumulated onto the same non-zero starting values on either backend. */
        SsdGrads backward(Backend b, Tensor dy, long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim();
            SsdGrads g = new SsdGrads(CudaMamba2Test.random(rnd, 1, (long) batch * len, dims.convDim()),
                    CudaMamba2Test.random(rnd, 1, dtRaw.shape()), CudaMamba2Test.random(rnd, 1, nh), CudaMamba2Test.random(rnd, 1, nh),
                    CudaMamba2Test.random(rnd, 1, nh), h0 != null ? CudaMamba2Test.random(rnd, 1, batch, nh, p, n) : null,
                    hOffset != null ? CudaMamba2Test.random(rnd, 1, nh, p, n) : null, yOffset != null ? CudaMamba2Test.random(rnd, 1, nh, p) : null);
            b.ssdScanBackward(xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, dims, batch, len, h0, hOffset, yOffset, dy, g);
            b.synchronize();
            return g;
        }
    }

    static final String SCAN_CASES = """
            4, 5, 2, 6, 8, 2, 21, true, true
            8, 16, 2, 16, 8, 2, 13, false, false
            8, 16, 2, 16, 8, 2, 13, true, false
            6, 24, 3, 40, 16, 3, 37, true, true
            2, 64, 1, 128, 256, 1, 19, true, false
            4, 3, 4, 5, 4, 2, 9, false, true
            3, 7, 1, 16, 8, 2, 1, true, false
            4, 16, 2, 64, 8, 3, 1, true, true
            2, 64, 1, 128, 64, 2, 1, false, false
            3, 12, 3, 32, 8, 3, 1, true, false
            5, 64, 1, 128, 64, 3, 1, true, false
            24, 64, 1, 128, 64, 2, 150, true, true
            2, 64, 1, 128, 256, 1, 64, true, true
            8, 16, 2, 16, 8, 2, 100, true, true
            4, 5, 2, 6, 8, 3, 70, false, true
            6, 24, 3, 40, 16, 2, 97, true, false
            2, 64, 1, 256, 64, 1, 40, true, true
            """;

    @ParameterizedTest(name = "heads {0} × {1}, groups {2}, n {3}, chunk {4}, batch {5}, len {6}, seams {7}, clamp {8}")
    @CsvSource(textBlock = SCAN_CASES)
    void ssdScanMatchesTheCpu(int nHeads, int headDim, int nGroups, int n, int chunk, int batch, int len, boolean seams, boolean clamp) {
        Scan s = Scan.random(nHeads, headDim, nGroups, n, chunk, batch, len, seams, clamp, 31L * len + n);
        Tensor[] expected = s.forward(cpu), got = s.forward(cuda);
        // 1e-4 absolute, as the gradients: the GPU sums a chunk's C·start (terms near 50 here at state size 256) on tensor
        // cores in 3xTF32, a few fp32 ulps a product, in another order than the CPU's recurrence
        same(expected[0], got[0], 1e-4, 1e-4, "ssd y");
        same(expected[1], got[1], 1e-4, 1e-4, "ssd final state");
        // resident on the GPU, as a model's activations are
        Tensor state = s.h0 != null ? CudaBackendTest.gpu(s.h0) : cuda.allocate(batch, nHeads, headDim, n);
        Tensor y = cuda.allocate((long) batch * len, s.dims.innerDim());
        cuda.ssdScan(CudaBackendTest.gpu(s.xBC), CudaBackendTest.gpu(s.dtRaw), s.dtCol, CudaBackendTest.gpu(s.dtBias), s.dtMin,
                s.dtMax, CudaBackendTest.gpu(s.A), CudaBackendTest.gpu(s.D), s.dims, batch, len, state, s.hOffset, s.yOffset, y);
        cuda.synchronize();
        same(expected[0], y, 1e-4, 1e-4, "ssd y (GPU tensors)");
        same(expected[1], state, 1e-4, 1e-4, "ssd final state (GPU tensors)");
    }

    @ParameterizedTest(name = "heads {0} × {1}, groups {2}, n {3}, chunk {4}, batch {5}, len {6}, seams {7}, clamp {8}")
    @CsvSource(textBlock = SCAN_CASES)
    void ssdScanGradientsMatchTheCpu(int nHeads, int headDim, int nGroups, int n, int chunk, int batch, int len, boolean seams, boolean clamp) {
        Scan s = Scan.random(nHeads, headDim, nGroups, n, chunk, batch, len, seams, clamp, 17L * len + n);
        Tensor dy = random(new SplittableRandom(5), 1, (long) batch * len, s.dims.innerDim());
        SsdGrads e = s.backward(cpu, dy, 9), g = s.backward(cuda, dy, 9);
        Tensor[] expected = {e.dxBC(), e.dDtRaw(), e.dDtBias(), e.dA(), e.dD(), e.dh0(), e.dhOffset(), e.dyOffset()};
        Tensor[] got = {g.dxBC(), g.dDtRaw(), g.dDtBias(), g.dA(), g.dD(), g.dh0(), g.dhOffset(), g.dyOffset()};
        String[] names = {"dxBC", "dDtRaw", "dDtBias", "dA", "dD", "dh0", "dhOffset", "dyOffset"};
        for (int i = 0; i < expected.length; i++)
            if (expected[i] != null) same(expected[i], got[i], 1e-4, 1e-4, "ssd' " + names[i]);
    }

    /**
     * With --dtype bf16 the chunk passes multiply in TF32 (and h′'s GEMMs in bf16): y, the final state and
     * every gradient stay within 1% of the CPU's fp32 in relative norm (TF32 rounds an operand by 2⁻¹¹).
     */
    @ParameterizedTest(name = "heads {0} × {1}, groups {2}, n {3}, chunk {4}, batch {5}, len {6}, seams {7}, clamp {8}")
    @CsvSource({"24, 64, 1, 128, 64, 2, 150, true, true", "6, 24, 3, 40, 16, 2, 97, true, false"})
    void ssdScanInBf16ModeStaysNearTheCpu(int nHeads, int headDim, int nGroups, int n, int chunk, int batch, int len, boolean seams,
                                          boolean clamp) {
        Scan s = Scan.random(nHeads, headDim, nGroups, n, chunk, batch, len, seams, clamp, 13L * len + n);
        Tensor dy = random(new SplittableRandom(3), 1, (long) batch * len, s.dims.innerDim());
        try (CudaBackend bf16 = new CudaBackend(0, true)) {
            Tensor[] expected = s.forward(cpu), got = s.forward(bf16);
            near(expected[0], got[0], "ssd y");
            near(expected[1], got[1], "ssd final state");
            SsdGrads e = s.backward(cpu, dy, 9), g = s.backward(bf16, dy, 9);
            near(e.dxBC(), g.dxBC(), "ssd' dxBC");
            near(e.dDtRaw(), g.dDtRaw(), "ssd' dDtRaw");
            near(e.dA(), g.dA(), "ssd' dA");
            near(e.dh0(), g.dh0(), "ssd' dh0");
            near(e.dhOffset(), g.dhOffset(), "ssd' dhOffset");
        }
    }

    /** ‖actual − expected‖ ≤ 1% of ‖expected‖. */
    static void near(Tensor expected, Tensor actual, String what) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        double diff = 0, norm = 0;
        for (int i = 0; i < e.length; i++) {
            diff += (a[i] - e[i]) * (double) (a[i] - e[i]);
            norm += e[i] * (double) e[i];
        }
        double relative = Math.sqrt(diff / norm);
        System.out.printf("  %-40s ‖CUDA − CPU‖ / ‖CPU‖ = %.3g%n", what, relative);
        assertTrue(relative <= 1e-2, what + ": relative error " + relative);
    }

    @ParameterizedTest(name = "rows {0}, width {1}, group {2}")
    @CsvSource({"37, 128, 64", "5, 96, 96", "300, 48, 8", "1, 40, 20"})
    void gatedRmsNormAndItsGradientsMatchTheCpu(int rows, int w, int groupSize) {
        SplittableRandom rnd = new SplittableRandom(rows * 7L + w);
        int zCol = 3;
        Tensor y = random(rnd, 2, rows, w), z = random(rnd, 3, rows, w + 10), weight = random(rnd, 1, w), dOut = random(rnd, 1, rows, w);
        Tensor expected = Tensor.zeros(rows, w), got = Tensor.zeros(rows, w);
        cpu.gatedRmsNorm(y, z, zCol, weight, groupSize, 1e-5f, expected);
        cuda.gatedRmsNorm(y, z, zCol, weight, groupSize, 1e-5f, got);
        cuda.synchronize();
        same(expected, got, 1e-5, 1e-4, "gated norm");
        Tensor dy1 = random(rnd, 1, rows, w), dz1 = random(rnd, 1, rows, w + 10), dw1 = random(rnd, 1, w);
        Tensor dy2 = copyOf(dy1), dz2 = copyOf(dz1), dw2 = copyOf(dw1);
        cpu.gatedRmsNormBackward(y, z, zCol, weight, groupSize, 1e-5f, dOut, dy1, dz1, dw1);
        cuda.gatedRmsNormBackward(y, z, zCol, weight, groupSize, 1e-5f, dOut, dy2, dz2, dw2);
        cuda.synchronize();
        same(dy1, dy2, 1e-4, 1e-4, "gated norm' dy");
        same(dz1, dz2, 1e-4, 1e-4, "gated norm' dz");
        same(dw1, dw2, 1e-4, 1e-4, "gated norm' dWeight");
        Tensor dyOnly1 = Tensor.zeros(rows, w), dyOnly2 = Tensor.zeros(rows, w);   // frozen weight, no z gradient
        cpu.gatedRmsNormBackward(y, z, zCol, weight, groupSize, 1e-5f, dOut, dyOnly1, null, null);
        cuda.gatedRmsNormBackward(y, z, zCol, weight, groupSize, 1e-5f, dOut, dyOnly2, null, null);
        cuda.synchronize();
        same(dyOnly1, dyOnly2, 1e-4, 1e-4, "gated norm' dy alone");
    }

    /**
     * With --dtype bf16 a training forward keeps in_proj's output z | xBC | dt in bf16 (allocateKept): the conv reads its xBC,
     * the SSD its dt and the gated norm its z as the float32 values it holds, bit for bit, and their backwards add into its bf16
     * gradient (allocateKeptGradient) their float32 gradients rounded once. Within one chunk (the sequential scan) and over three.
     */
    @ParameterizedTest(name = "len {0}")
    @ValueSource(ints = {40, 150})
    void aKeptBf16ZxbcdtReadsAsItsFloat32Values(int len) {
        int nHeads = 4, headDim = 16, n = 32, batch = 2, d = 48, k = 4;
        SsdDims dims = new SsdDims(nHeads, headDim, 1, n, 64);
        int di = dims.innerDim(), conv = dims.convDim(), width = di + conv + nHeads, rows = batch * len, dtCol = di + conv;
        SplittableRandom rnd = new SplittableRandom(len);
        try (CudaBackend half = new CudaBackend(0, true)) {
            Tensor kept = half.allocateKept(rows, width);
            assertEquals(DType.BF16, kept.dtype());
            half.linear(CudaTrainingTest.bf16Values(random(rnd, 1, rows, d)), 0, half.prepareWeight(random(rnd, 0.3, width, d)), null, kept);
            half.synchronize();
            Tensor held = Tensor.of(kept.toFloatArray(), rows, width);   // its values in float32

            Tensor cw = random(rnd, 1, conv, 1, k), cb = random(rnd, 1, conv), xBC1 = half.allocate(rows, conv), xBC2 = half.allocate(rows, conv);
            half.causalConv1dSilu(held, di, batch, len, cw, cb, half.allocate(batch, conv, k - 1), xBC1);
            half.causalConv1dSilu(kept, di, batch, len, cw, cb, half.allocate(batch, conv, k - 1), xBC2);
            Tensor dXBC = random(rnd, 1, rows, conv), dIn1 = Tensor.zeros(rows, width), dIn2 = half.allocateKeptGradient(rows, width);
            half.causalConv1dSiluBackward(held, di, batch, len, cw, cb, null, dXBC, dIn1, null, null, null);
            half.causalConv1dSiluBackward(kept, di, batch, len, cw, cb, null, dXBC, dIn2, null, null, null);

            float[] a = new float[nHeads];
            for (int h = 0; h < nHeads; h++) a[h] = (float) -(0.05 + 2 * rnd.nextDouble());
            Tensor A = Tensor.of(a, nHeads), D = random(rnd, 1, nHeads), bias = random(rnd, 0.5, nHeads), dy = random(rnd, 1, rows, di);
            Tensor[] y = {half.allocate(rows, di), half.allocate(rows, di)}, state = {half.allocate(batch, nHeads, headDim, n), half.allocate(batch, nHeads, headDim, n)};
            SsdGrads[] g = new SsdGrads[2];
            for (int i = 0; i < 2; i++) {
                Tensor dtRaw = i == 0 ? held : kept;
                half.ssdScan(xBC1, dtRaw, dtCol, bias, 0.05f, 1.5f, A, D, dims, batch, len, state[i], null, null, y[i]);
                g[i] = new SsdGrads(half.allocate(rows, conv), i == 0 ? Tensor.zeros(rows, width) : half.allocateKeptGradient(rows, width),
                        null, null, null, null, null, null);
                half.ssdScanBackward(xBC1, dtRaw, dtCol, bias, 0.05f, 1.5f, A, D, dims, batch, len, null, null, null, dy, g[i]);
            }

            Tensor yg = random(rnd, 2, rows, di), weight = random(rnd, 1, di), dOut = random(rnd, 1, rows, di);
            Tensor[] gated = {half.allocate(rows, di), half.allocate(rows, di)}, dyg = {Tensor.zeros(rows, di), Tensor.zeros(rows, di)};
            Tensor[] dz = {Tensor.zeros(rows, width), half.allocateKeptGradient(rows, width)};
            for (int i = 0; i < 2; i++) {
                Tensor z = i == 0 ? held : kept;
                half.gatedRmsNorm(yg, z, 0, weight, 32, 1e-5f, gated[i]);
                half.gatedRmsNormBackward(yg, z, 0, weight, 32, 1e-5f, dOut, dyg[i], dz[i], null);
            }
            half.synchronize();
            assertArrayEquals(xBC1.toFloatArray(), xBC2.toFloatArray(), "conv over bf16 xBC columns");
            assertArrayEquals(CudaTrainingTest.bf16Values(dIn1).toFloatArray(), dIn2.toFloatArray(), "conv' into bf16 xBC columns");
            assertArrayEquals(y[0].toFloatArray(), y[1].toFloatArray(), "ssd y from bf16 dt");
            assertArrayEquals(state[0].toFloatArray(), state[1].toFloatArray(), "ssd state from bf16 dt");
            assertArrayEquals(g[0].dxBC().toFloatArray(), g[1].dxBC().toFloatArray(), "ssd' dxBC from bf16 dt");
            assertArrayEquals(CudaTrainingTest.bf16Values(g[0].dDtRaw()).toFloatArray(), g[1].dDtRaw().toFloatArray(), "ssd' into bf16 dt");
            assertArrayEquals(gated[0].toFloatArray(), gated[1].toFloatArray(), "gated norm from bf16 z");
            assertArrayEquals(dyg[0].toFloatArray(), dyg[1].toFloatArray(), "gated norm' dy from bf16 z");
            assertArrayEquals(CudaTrainingTest.bf16Values(dz[0]).toFloatArray(), dz[1].toFloatArray(), "gated norm' into bf16 z");
            assertNotEquals(0f, g[1].dDtRaw().getFloat((long) 3 * width + dtCol + 1), "a dt gradient landed");
        }
    }

    /** 20 state-offset steps with --dtype bf16 (in_proj's output kept in bf16, TF32 SSD products) track the CPU's fp32 losses. */
    @org.junit.jupiter.api.Test
    void stateOffsetTrainingInBf16TracksTheCpuLosses() throws IOException {
        try (CudaBackend half = new CudaBackend(0, true)) {
            List<Method> methods = List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y);
            double[] onCpu = train(cpu, methods, "so-cpu"), bf16 = train(half, methods, "so-bf16");
            double worst = 0;   // bf16 rounding moves the trajectory: measured against the first loss, not step by step
            for (int i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i] - bf16[i]) / onCpu[0]);
            System.out.printf("mamba2 state offsets, bf16: losses %.4f → %.4f (CPU) vs %.4f → %.4f, max difference %.2e of the first loss%n",
                    onCpu[0], onCpu[19], bf16[0], bf16[19], worst);
            assertTrue(worst < 2e-2, "bf16: max loss difference " + worst + " of the first loss");
        }
    }

    static Mamba2LM model(Backend b, String fixture) {
        return new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/" + fixture)), b);
    }

    @ParameterizedTest
    @CsvSource({"tiny", "variant"})
    void fixturesGiveTheCpuLogitsAndGreedyIds(String fixture) {
        try (Mamba2LM onCpu = model(cpu, fixture); Mamba2LM onGpu = model(cuda, fixture)) {
            int[][] ids = {{5, 9, 33, 400, 7, 1, 2, 3, 4, 5, 6, 70, 71, 72, 73, 74, 75, 76, 77}, {12, 800, 3, 3, 91, 17, 250, 8, 9, 10, 11, 1, 2, 3, 4, 5, 6, 7, 8}};
            float[] expected = onCpu.forward(ids, onCpu.newState(2)).toFloatArray();
            float[] got = onGpu.forward(ids, onGpu.newState(2)).toFloatArray();
            System.out.printf("mamba2 %s: max |logit diff| CUDA vs CPU = %.3g%n", fixture, Fixtures.maxAbsDiff(expected, got));
            Fixtures.assertClose(expected, got, 1e-4, 1e-4, fixture + " logits");
            List<int[]> prompts = List.of(ids[0], ids[1]);
            List<int[]> greedyCpu = GreedySearch.search(onCpu, prompts, 24, 0), greedyGpu = GreedySearch.search(onGpu, prompts, 24, 0);
            for (int i = 0; i < 2; i++) assertArrayEquals(greedyCpu.get(i), greedyGpu.get(i), fixture + " greedy " + i);
        }
    }

    double[] train(Backend backend, List<Method> methods, String name) throws IOException {
        List<Example> data = LateSignalTask.examples(48, 12, 40, 1000, 3);
        try (Mamba2LM lm = model(backend, "tiny")) {
            Adapter adapter = Adapter.create(lm, methods, OPTIONS, 7);
            Trainer.train(lm, adapter, data, List.of(), new Trainer.Options("adamw", 1e-2, 0, "linear", 0, 1.0, 1, 4, 1, 20, 42, 0, 0, false, 0),
                    dir.resolve(name), false);
            return CudaTrainingTest.losses(dir.resolve(name));
        }
    }

    @ParameterizedTest
    @CsvSource({"STATE_OFFSET_H STATE_OFFSET_Y", "FULL", "INITIAL_STATE LORA"})
    void twentyTrainingStepsGiveTheCpuLosses(String methodNames) throws IOException {
        List<Method> methods = java.util.Arrays.stream(methodNames.split(" ")).map(Method::valueOf).toList();
        String name = methodNames.replace(' ', '-');
        CudaTrainingTest.assertSameLosses("mamba2 " + methods, train(cpu, methods, "cpu-" + name), train(cuda, methods, "gpu-" + name));
    }
}
