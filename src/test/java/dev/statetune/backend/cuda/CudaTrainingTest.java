package dev.statetune.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.Fixtures;
import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.ScanGrads;
import dev.statetune.data.Batch;
import dev.statetune.data.Batcher;
import dev.statetune.data.Example;
import dev.statetune.data.LateSignalTask;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.tensor.Tensor;
import dev.statetune.train.AdamW;
import dev.statetune.train.Trainer;
import dev.statetune.train.TrainingStep;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static dev.statetune.backend.cuda.CudaBackendTest.random;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The CUDA backward against the CPU's: every gradient of every op on random inputs (gradients
 * accumulate into host tensors here, as an adapter's do), then 20 training steps on each backend
 * with the same data and seed. Skipped, saying so, without a GPU.
 */
class CudaTrainingTest extends CudaVsCpu {
    @TempDir Path dir;


    static Tensor zerosLike(Tensor t) {
        return Tensor.zeros(t.shape());
    }

    static void same(Tensor expected, Tensor actual, String what) {
        Fixtures.assertClose(expected.toFloatArray(), actual.toFloatArray(), 1e-4, 1e-4, what);
    }

    @Test
    void elementwiseNormLinearAndConvGradientsMatchTheCpu() {
        int[] ids = {4, 9, 4, 0};
        Tensor dOut = random(4, 12), ta = Tensor.zeros(10, 12), tb = Tensor.zeros(10, 12);
        cpu.embeddingBackward(ids, dOut, ta);
        cuda.embeddingBackward(ids, dOut, tb);
        cuda.synchronize();
        same(ta, tb, "embedding'");

        Tensor x = random(17, 64), w = random(64), gn = random(17, 64);
        Tensor dx1 = random(17, 64), dx2 = Tensor.of(dx1.toFloatArray(), 17, 64), dw1 = zerosLike(w), dw2 = zerosLike(w);
        cpu.rmsNormBackward(x, w, 1e-5f, gn, dx1, dw1);
        cuda.rmsNormBackward(x, w, 1e-5f, gn, dx2, dw2);
        cuda.synchronize();
        same(dx1, dx2, "rmsNorm' dx");
        same(dw1, dw2, "rmsNorm' dw");

        Tensor lx = random(19, 40), lw = random(24, 30), lg = random(19, 24);
        Tensor ldx1 = Tensor.zeros(19, 44), ldx2 = Tensor.zeros(19, 44), ldw1 = zerosLike(lw), ldw2 = zerosLike(lw), lb1 = Tensor.zeros(24), lb2 = Tensor.zeros(24);
        cpu.linearBackward(lx, 5, lw, lg, ldx1, 3, ldw1, lb1);
        cuda.linearBackward(lx, 5, cuda.prepareWeight(lw), lg, ldx2, 3, ldw2, lb2);
        cuda.synchronize();
        same(ldx1, ldx2, "linear' dx");
        same(ldw1, ldw2, "linear' dW");
        same(lb1, lb2, "linear' dBias");
        Tensor written1 = Tensor.zeros(19, 30), written2 = random(19, 30);   // the GPU's starts as garbage: it is written, not added to
        cpu.linearBackward(lx, 5, lw, lg, written1, 0, null, null);
        cuda.linearBackwardOverwritingDx(lx, 5, cuda.prepareWeight(lw), lg, written2, null, null);
        cuda.synchronize();
        same(written1, written2, "linear' dx, overwritten");

        for (int len : new int[] {7, 150, 2})   // 150: several chunks of positions; 2: shorter than the window
            convGradientsMatch(2, len, 33, 4);
    }

    static void convGradientsMatch(int batch, int len, int di, int k) {
        int inCol = 9;   // x = in[:, 9 : 9+di], as Mamba-2's xBC columns
        Tensor in = random(batch * len, 50), cw = random(di, 1, k), cb = random(di), s0 = random(batch, di, k - 1), cg = random(batch * len, di);
        Tensor[] one = {Tensor.zeros(batch * len, 50), Tensor.zeros(di, 1, k), Tensor.zeros(di), Tensor.zeros(batch, di, k - 1)};
        Tensor[] two = {Tensor.zeros(batch * len, 50), Tensor.zeros(di, 1, k), Tensor.zeros(di), Tensor.zeros(batch, di, k - 1)};
        cpu.causalConv1dSiluBackward(in, inCol, batch, len, cw, cb, s0, cg, one[0], one[1], one[2], one[3]);
        cuda.causalConv1dSiluBackward(in, inCol, batch, len, cw, cb, s0, cg, two[0], two[1], two[2], two[3]);
        cuda.synchronize();
        String[] names = {"dIn", "dWeight", "dBias", "dState0"};
        for (int i = 0; i < 4; i++) same(one[i], two[i], "conv' " + names[i] + ", len " + len);
    }

    @Test
    void scanGradientsMatchTheCpu() {
        for (int[] shape : new int[][] {{16, 11}, {5, 11}, {16, 150}, {5, 130}, {64, 90}, {100, 20}}) {   // {n, len}: 150, 130, 90 run as several chunks; n 64, 100: several states a lane
            int n = shape[0], batch = 2, len = shape[1], di = 24;
            Tensor x = random(batch * len, di), bc = random(batch * len, 3 + 2 * n), z = random(batch * len, 2 * di), D = random(di);
            Tensor h0 = random(batch, di, n), hOff = random(di, n), yOff = random(di), dy = random(batch * len, di);
            float[] a = random(di, n).toFloatArray(), dts = random(batch * len, di).toFloatArray();
            for (int i = 0; i < a.length; i++) a[i] = -Math.abs(a[i]) - 0.1f;
            for (int i = 0; i < dts.length; i++) dts[i] = Math.abs(dts[i]) * 0.3f;
            Tensor A = Tensor.of(a, di, n), dt = Tensor.of(dts, batch * len, di);
            ScanGrads one = grads(batch, len, di, n), two = withGarbageDxDdt(grads(batch, len, di, n));   // host tensors: the CUDA side mirrors them
            cpu.selectiveScanBackward(x, dt, A, bc, 3, D, z, di, batch, len, h0, hOff, yOff, dy, one);
            cuda.selectiveScanBackward(x, dt, A, bc, 3, D, z, di, batch, len, h0, hOff, yOff, dy, two);
            cuda.synchronize();
            Tensor[] e = {one.dx(), one.ddt(), one.dbc(), one.dz(), one.dA(), one.dD(), one.dh0(), one.dhOffset(), one.dyOffset()};
            Tensor[] g = {two.dx(), two.ddt(), two.dbc(), two.dz(), two.dA(), two.dD(), two.dh0(), two.dhOffset(), two.dyOffset()};
            String[] names = {"dx", "ddt", "dbc", "dz", "dA", "dD", "dh0", "dhOffset", "dyOffset"};
            for (int i = 0; i < e.length; i++) same(e[i], g[i], "scan' " + names[i] + " n=" + n + ", len " + len);

            Tensor memo = cuda.scanMemo(batch, len, di, n);   // the chunk states a forward keeps spare the backward their recompute
            ScanGrads three = withGarbageDxDdt(grads(batch, len, di, n));
            Tensor state = Tensor.of(h0.toFloatArray(), h0.shape()), y = cuda.allocate(batch * len, di);
            cuda.selectiveScan(x, dt, A, bc, 3, D, z, di, batch, len, state, hOff, yOff, y, memo);
            cuda.selectiveScanBackward(x, dt, A, bc, 3, D, z, di, batch, len, h0, hOff, yOff, dy, three, memo);
            cuda.synchronize();
            Tensor[] m = {three.dx(), three.ddt(), three.dbc(), three.dz(), three.dA(), three.dD(), three.dh0(), three.dhOffset(), three.dyOffset()};
            for (int i = 0; i < e.length; i++) same(e[i], m[i], "scan' with the forward's memo " + names[i] + " n=" + n + ", len " + len);
        }
    }

    /**
     * With --dtype bf16 a training forward keeps in_proj's output x | z in bf16 (allocateKept): a linear
     * writes it, within bf16 rounding of the CPU's product; the conv and the scan read it, forward and
     * backward, as the CPU reads the same values in float32, and add their gradients into its bf16
     * gradient (allocateKeptGradient) within one rounding of the CPU's, which a linear's backward reads.
     * 40 channels stage the gate's bf16 tiles in 16-byte copies, 37 one value at a time.
     */
    @ParameterizedTest(name = "{0} channels")
    @ValueSource(ints = {40, 37})
    void aKeptBf16XzFeedsTheConvAndTheScanAsItsValuesInFloat32(int di) {
        int batch = 2, len = 150, d = 48, n = 16, k = 4;
        try (CudaBackend half = new CudaBackend(0, true)) {
            Tensor normed = bf16Values(random(batch * len, d)), w = bf16Values(random(2 * di, d)), xz = half.allocateKept(batch * len, 2 * di);
            assertEquals(dev.statetune.tensor.DType.BF16, xz.dtype());
            half.linear(normed, 0, half.prepareWeight(w), null, xz);
            Tensor product = cpu.allocate(batch * len, 2 * di);
            cpu.linear(normed, 0, w, null, product);
            half.synchronize();
            Tensor held = Tensor.of(xz.toFloatArray(), xz.shape());   // the bf16 values, in float32
            Fixtures.assertClose(product.toFloatArray(), held.toFloatArray(), 1e-5, 1.0 / 256, "in_proj into bf16");   // rounded once

            Tensor cw = random(di, 1, k), cb = random(di), s0 = random(batch, di, k - 1), x1 = cpu.allocate(batch * len, di);
            Tensor x2 = half.allocate(batch * len, di), state1 = Tensor.of(s0.toFloatArray(), s0.shape()), state2 = Tensor.of(s0.toFloatArray(), s0.shape());
            cpu.causalConv1dSilu(held, 0, batch, len, cw, cb, state1, x1);
            half.causalConv1dSilu(xz, 0, batch, len, cw, cb, state2, x2);
            half.synchronize();
            same(x1, x2, "conv from bf16 xz");
            same(state1, state2, "conv state from bf16 xz");
            Tensor cg = random(batch * len, di);
            Tensor[] one = {Tensor.zeros(batch * len, 2 * di), Tensor.zeros(di, 1, k), Tensor.zeros(di), Tensor.zeros(batch, di, k - 1)};
            Tensor[] two = {half.allocateKeptGradient(batch * len, 2 * di), Tensor.zeros(di, 1, k), Tensor.zeros(di), Tensor.zeros(batch, di, k - 1)};
            assertEquals(dev.statetune.tensor.DType.BF16, two[0].dtype());
            cpu.causalConv1dSiluBackward(held, 0, batch, len, cw, cb, s0, cg, one[0], one[1], one[2], one[3]);
            half.causalConv1dSiluBackward(xz, 0, batch, len, cw, cb, s0, cg, two[0], two[1], two[2], two[3]);
            half.synchronize();
            for (int i = 1; i < 4; i++) same(one[i], two[i], "conv' from bf16 xz, gradient " + i);

            Tensor x = x1, bc = random(batch * len, 3 + 2 * n), D = random(di), h0 = random(batch, di, n), dy = random(batch * len, di);
            float[] a = random(di, n).toFloatArray(), dts = random(batch * len, di).toFloatArray();
            for (int i = 0; i < a.length; i++) a[i] = -Math.abs(a[i]) - 0.1f;
            Tensor A = Tensor.of(a, di, n), dt = Tensor.of(dts, batch * len, di);
            Tensor y1 = cpu.allocate(batch * len, di), y2 = half.allocate(batch * len, di), memo = half.scanMemo(batch, len, di, n);
            cpu.selectiveScan(x, dt, A, bc, 3, D, held, di, batch, len, Tensor.of(h0.toFloatArray(), h0.shape()), null, null, y1);
            half.selectiveScan(x, dt, A, bc, 3, D, xz, di, batch, len, Tensor.of(h0.toFloatArray(), h0.shape()), null, null, y2, memo);
            half.synchronize();
            same(y1, y2, "scan y gated by bf16 z");
            ScanGrads g1 = grads(batch, len, di, n), g2 = grads(batch, len, di, n);
            g1 = new ScanGrads(g1.dx(), g1.ddt(), g1.dbc(), one[0], g1.dA(), g1.dD(), g1.dh0(), g1.dhOffset(), g1.dyOffset());
            g2 = new ScanGrads(g2.dx(), g2.ddt(), g2.dbc(), two[0], g2.dA(), g2.dD(), g2.dh0(), g2.dhOffset(), g2.dyOffset());
            cpu.selectiveScanBackward(x, dt, A, bc, 3, D, held, di, batch, len, h0, null, null, dy, g1);
            half.selectiveScanBackward(x, dt, A, bc, 3, D, xz, di, batch, len, h0, null, null, dy, g2, memo);
            half.synchronize();
            same(g1.dx(), g2.dx(), "scan' dx from bf16 z");
            same(g1.ddt(), g2.ddt(), "scan' ddt from bf16 z");
            // dxz: the conv's dx | the scan's dz, each added once into zeros, so one bf16 rounding of the CPU's float32
            Fixtures.assertClose(one[0].toFloatArray(), two[0].toFloatArray(), 1e-6, 1.0 / 256, "conv' dx | scan' dz into bf16 dxz");

            Tensor dNormed1 = Tensor.zeros(batch * len, d), dNormed2 = Tensor.zeros(batch * len, d);   // in_proj's backward reads it as it is
            cpu.linearBackward(null, 0, w, Tensor.of(two[0].toFloatArray(), two[0].shape()), dNormed1, 0, null, null);
            half.linearBackward(null, 0, half.prepareWeight(w), two[0], dNormed2, 0, null, null);
            half.synchronize();
            same(dNormed1, dNormed2, "in_proj' dx from bf16 dxz");
        }
    }

    /** t's values rounded to bf16 (to nearest even), in float32: operands that a bf16 GEMM reads exactly. */
    static Tensor bf16Values(Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            int bits = Float.floatToRawIntBits(v[i]);
            v[i] = Float.intBitsToFloat((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000);
        }
        return Tensor.of(v, t.shape());
    }

    /** g with dx and ddt filled with noise, which the scan's backward overwrites (ScanGrads). */
    static ScanGrads withGarbageDxDdt(ScanGrads g) {
        return new ScanGrads(random(g.dx().shape()), random(g.ddt().shape()), g.dbc(), g.dz(), g.dA(), g.dD(), g.dh0(), g.dhOffset(), g.dyOffset());
    }

    static ScanGrads grads(int batch, int len, int di, int n) {
        return new ScanGrads(Tensor.zeros(batch * len, di), Tensor.zeros(batch * len, di), Tensor.zeros(batch * len, 3 + 2 * n),
                Tensor.zeros(batch * len, 2 * di), Tensor.zeros(di, n), Tensor.zeros(di), Tensor.zeros(batch, di, n), Tensor.zeros(di, n), Tensor.zeros(di));
    }

    @Test
    void fusedCrossEntropyMatchesTheCpu() {
        Tensor hidden = random(9, 32), w = random(300, 32);
        int[] targets = {5, -100, 299, 0, 17, 17, -100, 250, 3};
        Tensor dh1 = Tensor.zeros(9, 32), dh2 = Tensor.zeros(9, 32), dw1 = Tensor.zeros(300, 32), dw2 = Tensor.zeros(300, 32);
        Tensor sums1 = cpu.allocateSums(LossResult.SUMS), sums2 = cuda.allocateSums(LossResult.SUMS);
        for (int call = 0; call < 2; call++) {   // the second call adds to the sums
            cpu.crossEntropy(hidden, w, targets, dh1, dw1, sums1);
            cuda.crossEntropy(hidden, w, targets, dh2, dw2, sums2);
        }
        cuda.synchronize();
        LossResult r1 = LossResult.of(sums1), r2 = LossResult.of(sums2);
        assertEquals(r1.lossSum(), r2.lossSum(), 1e-4 * Math.abs(r1.lossSum()));
        assertEquals(14, r2.targets());
        assertEquals(r1.targets(), r2.targets());
        assertEquals(r1.correct(), r2.correct());
        assertEquals(sums1.getDouble(3), sums2.getDouble(3), 1e-4 * sums1.getDouble(3), "Σ of each call's mean loss");
        same(dh1, dh2, "dHidden");
        same(dw1, dw2, "dW");
    }

    /** Per-step losses of metrics.jsonl. */
    static double[] losses(Path run) throws IOException {
        ObjectMapper json = new ObjectMapper();
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().mapToDouble(l -> {
            try {
                return json.readTree(l).get("loss").asDouble();
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }).toArray();
    }

    double[] train(Backend backend, List<Method> methods, String name) throws IOException {
        List<Example> data = LateSignalTask.examples(48, 12, 40, 1000, 3);
        try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), backend)) {
            Adapter adapter = Adapter.create(lm, methods, MethodOptions.defaults(), 7);
            Trainer.train(lm, adapter, data, List.of(), new Trainer.Options("adamw", 3e-3, 0, "linear", 0, 1.0, 1, 4, 1, 20, 42, 0, 0, false, 0),
                    dir.resolve(name), false);
            return losses(dir.resolve(name));
        }
    }

    @Test
    void twentyTrainingStepsGiveTheCpuLosses() throws IOException {
        for (List<Method> methods : List.of(List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.LORA), List.of(Method.FULL))) {
            assertSameLosses(methods.toString(), train(cpu, methods, "cpu-" + methods.size()), train(cuda, methods, "gpu-" + methods.size()));
        }
    }

    @Test
    void fullFineTuningWithBf16GemmsTracksTheFp32Losses() throws IOException {
        try (CudaBackend half = new CudaBackend(0, true)) {
            double[] onCpu = train(cpu, List.of(Method.FULL), "full-cpu"), fp32 = train(cuda, List.of(Method.FULL), "full-fp32");
            double[] bf16 = train(half, List.of(Method.FULL), "full-bf16");
            double worst = 0;   // bf16 rounding moves the trajectory: measured against the first loss, not step by step
            for (int i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i] - bf16[i]) / onCpu[0]);
            System.out.printf("full, bf16 GEMMs: losses %.4f → %.4f (CPU) vs %.4f → %.4f, max difference %.2e of the first loss%n", onCpu[0],
                    onCpu[19], bf16[0], bf16[19], worst);
            assertTrue(worst < 2e-2, "bf16 GEMMs: max loss difference " + worst + " of the first loss");
            assertEquals(onCpu[19], bf16[19], 0.1 * onCpu[19], "the final loss");
            assertFalse(java.util.Arrays.equals(fp32, bf16), "the trained matrices' GEMMs did not run in bf16");
        }
    }

    /** 20 per-step losses on each backend, equal within 1e-3 relative. */
    /**
     * TrainingStep records a step of a repeated shape as a CUDA graph and replays it with each new batch: the
     * losses are the CPU's (where nothing is recorded), on both models; with LoRA's dropout too, whose draws change at every replay.
     */
    @Test
    void recordedTrainingStepsGiveTheCpuLosses() {
        MethodOptions noDropout = new MethodOptions(4, 8, 0, MethodOptions.PAPER_LORA_TARGETS, 4, false, 8);
        List<Method> peft = List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.INITIAL_STATE, Method.LORA);
        for (boolean mamba2 : new boolean[] {false, true})
            for (List<Method> methods : List.of(peft, List.of(Method.FULL))) {
                MethodOptions options = mamba2 ? noDropout.withLoraTargets(MethodOptions.MAMBA2_LORA_TARGETS) : noDropout;
                String what = (mamba2 ? "Mamba-2 " : "Mamba-1 ") + methods;
                double[] onCpu = stepLosses(cpu, mamba2, methods, options), onGpu = stepLosses(cuda, mamba2, methods, options);
                double worst = 0;
                for (int i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i] - onGpu[i]) / Math.abs(onCpu[i]));
                System.out.printf("%s, recorded steps: losses %.4f → %.4f (CPU) vs %.4f → %.4f, max relative difference %.2e%n", what, onCpu[0],
                        onCpu[7], onGpu[0], onGpu[7], worst);
                assertTrue(worst < 1e-3, what + ": max relative loss difference " + worst);
            }
        double[] onCpu = stepLosses(cpu, false, List.of(Method.LORA), MethodOptions.defaults());
        double[] onGpu = stepLosses(cuda, false, List.of(Method.LORA), MethodOptions.defaults());
        for (int i = 0; i < onCpu.length; i++) assertEquals(onCpu[i], onGpu[i], 1e-3 * onCpu[i], "LoRA with dropout, step " + i);
    }

    /** Steps of two micro-batches run op by op, the loss and the norm read once at the end: the CPU's losses, LoRA's dropout drawn per micro-batch. */
    @Test
    void accumulatedStepsGiveTheCpuLosses() {
        double[][] losses = new double[2][];
        for (Backend backend : List.of(cpu, cuda)) {
            Batcher batches = new Batcher(LateSignalTask.examples(48, 12, 40, 1000, 3), 4, 42, 0, false);
            try (MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), backend)) {
                Adapter adapter = Adapter.create(lm, List.of(Method.STATE_OFFSET_H, Method.LORA), MethodOptions.defaults(), 7);
                adapter.attach(lm);
                adapter.parameters().forEach(p -> p.keepResident(backend));
                double[] l = losses[backend == cpu ? 0 : 1] = new double[5];
                try (TrainingStep step = new TrainingStep(lm, adapter.parameters(), new AdamW(0), 1.0)) {
                    for (int s = 0; s < l.length; s++) {
                        Batch one = batches.next(), two = batches.next();
                        l[s] = step.run(List.of(new TrainingStep.Micro(lm.tokens(one.inputIds(), one.labels()), 2L * s),
                                new TrainingStep.Micro(lm.tokens(two.inputIds(), two.labels()), 2L * s + 1)), 3e-3).loss();
                    }
                    assertFalse(step.replayed(), "accumulated steps run op by op");
                } finally {
                    backend.dropResident();
                }
            }
        }
        for (int i = 0; i < losses[0].length; i++) assertEquals(losses[0][i], losses[1][i], 1e-3 * losses[0][i], "accumulated step " + i);
        assertNotEquals(losses[0][0], losses[0][4], "the steps train");
    }

    /** Eight AdamW steps through TrainingStep on fixed-shape batches; asserts that CUDA replayed them. */
    double[] stepLosses(Backend backend, boolean mamba2, List<Method> methods, MethodOptions options) {
        Batcher batches = new Batcher(LateSignalTask.examples(48, 12, 40, 1000, 3), 4, 42, 0, false);
        Checkpoint ckpt = Checkpoint.open(mamba2 ? Fixtures.resource("fixtures/mamba2/tiny") : Fixtures.tinyModel());
        try (LanguageModel lm = mamba2 ? new Mamba2LM(ckpt, backend) : new MambaLM(ckpt, backend)) {
            Adapter adapter = Adapter.create(lm, methods, options, 7);
            adapter.attach(lm);
            adapter.parameters().forEach(p -> p.keepResident(backend));
            double[] losses = new double[8];
            try (TrainingStep step = new TrainingStep(lm, adapter.parameters(), new AdamW(0), 1.0)) {
                for (int s = 0; s < losses.length; s++) {
                    Batch b = batches.next();
                    losses[s] = step.run(List.of(new TrainingStep.Micro(lm.tokens(b.inputIds(), b.labels()), s)), 3e-3).loss();
                }
                assertEquals(backend == cuda, step.replayed(), methods + ": replayed");
            } finally {
                backend.dropResident();
            }
            return losses;
        }
    }

    static void assertSameLosses(String what, double[] onCpu, double[] onGpu) {
        assertEquals(20, onCpu.length);
        assertEquals(20, onGpu.length);
        double worst = 0;
        for (int i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i] - onGpu[i]) / Math.abs(onCpu[i]));
        System.out.printf("%s: 20 steps, losses %.4f → %.4f (CPU) vs %.4f → %.4f (CUDA), max relative difference %.2e%n", what,
                onCpu[0], onCpu[19], onGpu[0], onGpu[19], worst);
        assertTrue(worst < 1e-3, what + ": max relative loss difference " + worst);
    }
}
