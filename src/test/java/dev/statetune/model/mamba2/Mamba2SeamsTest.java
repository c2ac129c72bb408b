package dev.statetune.model.mamba2;

import dev.statetune.Fixtures;
import dev.statetune.backend.Backend;
import dev.statetune.backend.SsdDims;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.model.DecodeState;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The Mamba-2 seams (PAPER_NOTES.md, Mamba-2 analogue) in the forward: zero seams change no bit;
 * y′ and h′ equal adding, after an offset-free scan and before the gated norm, the constant y′ or
 * the read-out C_t·h′ (done here by a backend that wraps the CPU one); an initial-state seam is
 * the same as starting from that SSM state.
 */
class Mamba2SeamsTest {
    static final CpuBackend CPU = new CpuBackend(2);
    static final int LAYER = 1;

    @AfterAll
    static void close() { CPU.close(); }

    static int[][] ids() {
        try (SafeTensors ref = SafeTensors.open(Fixtures.resource("fixtures/mamba2/tiny.reference.safetensors"))) {
            return Fixtures.ids(ref.get("ids_b"));
        }
    }

    static Mamba2LM tiny(Backend backend) {
        return new Mamba2LM(Checkpoint.open(Fixtures.resource("fixtures/mamba2/tiny")), backend);
    }

    static float[] logits(Mamba2LM lm, Mamba2Seams seam) {
        Mamba2Seams[] seams = new Mamba2Seams[lm.config().nLayers()];
        Arrays.fill(seams, Mamba2Seams.NONE);
        seams[LAYER] = seam;
        lm.setSeams(seams);
        int[][] ids = ids();
        return lm.forward(ids, lm.newState(ids.length)).toFloatArray();
    }

    @Test
    void zeroSeamsLeaveLogitsBitIdentical() {
        try (Mamba2LM lm = tiny(CPU)) {
            SsdDims s = lm.config().ssd();
            float[] plain = logits(lm, Mamba2Seams.NONE);
            Tensor zeroH = Tensor.zeros(s.nHeads(), s.headDim(), s.stateDim()), zeroY = Tensor.zeros(s.nHeads(), s.headDim());
            assertArrayEquals(plain, logits(lm, new Mamba2Seams(zeroH, zeroY, zeroH)));
        }
    }

    @Test
    void yOffsetIsAConstantAddedBeforeTheNorm() {
        try (Mamba2LM lm = tiny(CPU)) {
            SsdDims s = lm.config().ssd();
            Tensor yOffset = random(s.nHeads(), s.headDim());
            float[] seamed = logits(lm, new Mamba2Seams(null, yOffset, null));
            float[] added = addedAfterScan(lm.config(), (xBC, y) -> addRows(y, yOffset.toFloatArray()));
            Fixtures.assertClose(added, seamed, 2e-5, 2e-5, "y′ seam vs y′ added after the scan");
            assertFalse(Arrays.equals(seamed, logits(lm, Mamba2Seams.NONE)), "y′ changes the logits");
        }
    }

    @Test
    void hOffsetIsReadOutThroughTheHeadsGroupC() {
        try (Mamba2LM lm = tiny(CPU)) {
            SsdDims s = lm.config().ssd();
            Tensor hOffset = random(s.nHeads(), s.headDim(), s.stateDim());
            float[] seamed = logits(lm, new Mamba2Seams(hOffset, null, null));
            float[] added = addedAfterScan(lm.config(), (xBC, y) -> addReadOut(s, xBC, hOffset.toFloatArray(), y));
            Fixtures.assertClose(added, seamed, 2e-5, 2e-5, "h′ seam vs C_t·h′ added after the scan");
        }
    }

    @Test
    void initialStateSeamEqualsStartingFromThatState() {
        try (Mamba2LM lm = tiny(CPU)) {
            SsdDims s = lm.config().ssd();
            Tensor h0 = random(s.nHeads(), s.headDim(), s.stateDim());
            float[] seamed = logits(lm, new Mamba2Seams(null, null, h0));
            lm.setSeams(new Mamba2Seams[] {Mamba2Seams.NONE, Mamba2Seams.NONE, Mamba2Seams.NONE});
            int[][] ids = ids();
            DecodeState state = lm.newState(ids.length);
            for (int b = 0; b < ids.length; b++) CPU.copy(h0, state.ssm(LAYER).rows(b, b + 1).reshape(h0.shape()));
            assertArrayEquals(seamed, lm.forward(ids, state).toFloatArray());
        }
    }

    /** Logits of tiny without seams, on a CPU backend whose LAYER-th scan of each forward is followed by edit(xBC, y). */
    static float[] addedAfterScan(Mamba2Config cfg, BiConsumer<Tensor, Tensor> edit) {
        int[] calls = {0};
        Backend wrapped = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(CPU, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (method.getName().equals("ssdScan") && calls[0]++ % cfg.nLayers() == LAYER) edit.accept((Tensor) args[0], (Tensor) args[14]);
                    return result;
                });
        try (Mamba2LM lm = tiny(wrapped)) {
            int[][] ids = ids();
            return lm.forward(ids, lm.newState(ids.length)).toFloatArray();
        }
    }

    /** y (T, w) += c (w) on every row. */
    static void addRows(Tensor y, float[] c) {
        for (long t = 0; t < y.size(0); t++)
            for (int j = 0; j < c.length; j++) {
                long at = t * c.length + j;
                y.data().setAtIndex(Tensor.F32, at, y.data().getAtIndex(Tensor.F32, at) + c[j]);
            }
    }

    /** y[t, h·p + i] += Σ_k h′[h, i, k]·C_t[group(h), k], C read from xBC (T, convDim). */
    static void addReadOut(SsdDims s, Tensor xBC, float[] hOffset, Tensor y) {
        int p = s.headDim(), n = s.stateDim(), di = s.innerDim(), conv = s.convDim();
        for (long t = 0; t < y.size(0); t++)
            for (int h = 0; h < s.nHeads(); h++) {
                int cCol = di + s.nGroups() * n + s.group(h) * n;
                for (int i = 0; i < p; i++) {
                    float acc = 0;
                    for (int k = 0; k < n; k++) acc += hOffset[(h * p + i) * n + k] * xBC.data().getAtIndex(Tensor.F32, t * conv + cCol + k);
                    long at = t * di + (long) h * p + i;
                    y.data().setAtIndex(Tensor.F32, at, y.data().getAtIndex(Tensor.F32, at) + acc);
                }
            }
    }

    static Tensor random(long... shape) {
        SplittableRandom rnd = new SplittableRandom(shape.length);
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextDouble() - 0.5);
        return Tensor.of(v, shape);
    }
}
