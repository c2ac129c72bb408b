package dev.statetune.backend.cpu;

import dev.statetune.backend.ScanGrads;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The backward of CpuScan: the forward in reverse, as a reverse scan over time. Per block of
 * channels and per sequence, the states h_0..h_len are recomputed into a local buffer (nothing of
 * size (b, len, di, n) is kept between forward and backward), then the carry
 * dh_t = C_t·dy_t + exp(dt_{t+1}·A) ⊙ dh_{t+1} runs backwards and feeds every input's gradient.
 * The state dimension goes in vectors (n padded with zeros to whole vectors: A's zeros decay by 1,
 * and states and carries there stay zero). A block owns its channels' parameter gradients; B and C
 * are shared by all channels, so each block sums its dB, dC into its own buffer, and the buffers are
 * added in block order: the result does not depend on the threads' schedule.
 */
final class CpuScanBackward {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int CHANNEL_BLOCK = 32;

    private CpuScanBackward() {}

    static void backward(Parallel par, Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                         int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads g) {
        int inner = (int) x.size(1), n = (int) A.size(1), np = (n + L - 1) / L * L, rows = batch * len;
        float[] a = CpuMath.paddedRows(A.data(), 0, inner, n, np, new float[inner * np]);                       // (di, np)
        float[] hOff = hOffset == null ? new float[inner * np] : CpuMath.paddedRows(hOffset.data(), 0, inner, n, np, new float[inner * np]);   // (di, np)
        float[] yOff = yOffset == null ? new float[inner] : yOffset.toFloatArray();                           // (di)
        float[] d = D.toFloatArray();                                                                          // (di)
        int blocks = (inner + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
        float[][] dBC = new float[blocks][];   // per block: (b·len, 2·np) dB | dC
        par.forEach(blocks, block -> {
            BlockPass pass = new BlockPass(x, dt, bc, bCol, z, zCol, len, h0, dy, g, a, hOff, yOff, d, n, np, block * CHANNEL_BLOCK,
                    Math.min(inner, (block + 1) * CHANNEL_BLOCK), rows);
            for (int s = 0; s < batch; s++) pass.sequence(s);
            pass.finish();
            dBC[block] = pass.dBC;
        });
        MemorySegment dbc = g.dbc().data();
        int dbcStride = (int) g.dbc().size(1);
        par.forEach(rows, row -> {
            for (int p = 0; p < 2 * n; p++) {
                int at = row * 2 * np + (p < n ? p : np + p - n);
                float sum = 0;
                for (float[] partial : dBC) sum += partial[at];
                long to = (long) row * dbcStride + bCol + p;
                dbc.setAtIndex(Tensor.F32, to, dbc.getAtIndex(Tensor.F32, to) + sum);
            }
        });
    }

    /** The backward of channels [c0, c1), one sequence after another. Per-channel rows are np long. */
    private static final class BlockPass {
        final MemorySegment xs, dts, bcs, zs, dys;
        final Tensor h0;
        final ScanGrads g;
        final float[] a, hOff, yOff, d;
        final int bCol, zCol, len, inner, n, np, c0, c1, width, bcStride, zStride;
        final float[] hist;               // (len+1, width, np): h_0 .. h_len of the sequence in hand
        final float[] dh;                 // (width, np) the carry
        final float[] bt, ct;             // (np) B_t, C_t
        final float[] dA, dhOffset;       // (width, np) the block's channels' gradients, or null
        final float[] dD, dyOffset;       // (width), or null
        final float[] dBC;                // (b·len, 2·np) dB | dC of the block's channels
        final float[] lanes = new float[2 * L];

        BlockPass(Tensor x, Tensor dt, Tensor bc, int bCol, Tensor z, int zCol, int len, Tensor h0, Tensor dy, ScanGrads g, float[] a,
                  float[] hOff, float[] yOff, float[] d, int n, int np, int c0, int c1, int rows) {
            xs = x.data();
            dts = dt.data();
            bcs = bc.data();
            zs = z.data();
            dys = dy.data();
            this.h0 = h0;
            this.g = g;
            this.a = a;
            this.hOff = hOff;
            this.yOff = yOff;
            this.d = d;
            this.bCol = bCol;
            this.zCol = zCol;
            this.len = len;
            inner = (int) x.size(1);
            this.n = n;
            this.np = np;
            this.c0 = c0;
            this.c1 = c1;
            width = c1 - c0;
            bcStride = (int) bc.size(1);
            zStride = (int) z.size(1);
            hist = new float[(len + 1) * width * np];
            dh = new float[width * np];
            bt = new float[np];
            ct = new float[np];
            dA = g.dA() == null ? null : new float[width * np];
            dhOffset = g.dhOffset() == null ? null : new float[width * np];
            dD = g.dD() == null ? null : new float[width];
            dyOffset = g.dyOffset() == null ? null : new float[width];
            dBC = new float[rows * 2 * np];
        }

        void sequence(int s) {
            if (h0 == null) java.util.Arrays.fill(hist, 0, width * np, 0f);
            else CpuMath.paddedRows(h0.data(), ((long) s * inner + c0) * n, width, n, np, hist);
            for (int t = 0; t < len; t++) {          // recompute h_1..h_len
                long row = (long) s * len + t;
                MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol) * 4, bt, 0, n);
                for (int c = 0; c < width; c++) {
                    float dtv = dts.getAtIndex(Tensor.F32, row * inner + c0 + c), xv = xs.getAtIndex(Tensor.F32, row * inner + c0 + c);
                    FloatVector dtx = FloatVector.broadcast(F, dtv * xv);
                    int prev = (t * width + c) * np, cur = prev + width * np, ab = (c0 + c) * np;
                    for (int p = 0; p < np; p += L)
                        CpuMath.exp(FloatVector.fromArray(F, a, ab + p).mul(dtv)).mul(FloatVector.fromArray(F, hist, prev + p))
                                .add(FloatVector.fromArray(F, bt, p).mul(dtx)).intoArray(hist, cur + p);
                }
            }
            java.util.Arrays.fill(dh, 0f);
            for (int t = len - 1; t >= 0; t--) {
                long row = (long) s * len + t;
                MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol) * 4, bt, 0, n);
                MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol + n) * 4, ct, 0, n);
                for (int c = 0; c < width; c++) step(row, t, c);
            }
            if (g.dh0() != null)
                for (int c = 0; c < width; c++)
                    for (int p = 0; p < n; p++) add(g.dh0(), ((long) s * inner + c0 + c) * n + p, dh[c * np + p]);
        }

        /** Channel c0 + c at step t (row `row`): its output recomputed, then every gradient through it. */
        private void step(long row, int t, int c) {
            int ch = c0 + c, ab = ch * np, prev = (t * width + c) * np, cur = prev + width * np, dbc = (int) row * 2 * np;
            long at = row * inner + ch;
            float dtv = dts.getAtIndex(Tensor.F32, at), xv = xs.getAtIndex(Tensor.F32, at);
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < np; p += L)
                sum = FloatVector.fromArray(F, hist, cur + p).add(FloatVector.fromArray(F, hOff, ab + p)).fma(FloatVector.fromArray(F, ct, p), sum);
            sum.intoArray(lanes, 0);
            float y = d[ch] * xv + yOff[ch] + CpuMath.sumLanes(lanes, 0);
            float zv = zs.getAtIndex(Tensor.F32, row * zStride + zCol + ch), sig = CpuMath.sigmoid(zv);
            float gy = dys.getAtIndex(Tensor.F32, at), dyv = gy * zv * sig;   // through the gate
            add(g.dz(), row * zStride + zCol + ch, gy * y * sig * (1 + zv * (1 - sig)));
            if (dD != null) dD[c] += dyv * xv;
            if (dyOffset != null) dyOffset[c] += dyv;
            FloatVector dyV = FloatVector.broadcast(F, dyv), dtx = FloatVector.broadcast(F, dtv * xv);
            FloatVector xb = FloatVector.zero(F), decayed = xb;   // Σ dht·B, Σ A·dht·decay·h_{t−1}
            for (int p = 0; p < np; p += L) {
                int e = c * np + p;
                FloatVector cv = FloatVector.fromArray(F, ct, p), bv = FloatVector.fromArray(F, bt, p), av = FloatVector.fromArray(F, a, ab + p);
                FloatVector read = FloatVector.fromArray(F, hist, cur + p).add(FloatVector.fromArray(F, hOff, ab + p));
                dyV.fma(read, FloatVector.fromArray(F, dBC, dbc + np + p)).intoArray(dBC, dbc + np + p);   // dC_t
                if (dhOffset != null) dyV.fma(cv, FloatVector.fromArray(F, dhOffset, e)).intoArray(dhOffset, e);
                FloatVector dht = dyV.fma(cv, FloatVector.fromArray(F, dh, e));    // dL/dh_t
                FloatVector decay = CpuMath.exp(av.mul(dtv));
                FloatVector back = dht.mul(decay).mul(FloatVector.fromArray(F, hist, prev + p));   // dht·decay·h_{t−1}
                dtx.fma(dht, FloatVector.fromArray(F, dBC, dbc + p)).intoArray(dBC, dbc + p);       // dB_t
                xb = dht.fma(bv, xb);
                decayed = av.fma(back, decayed);
                if (dA != null) back.fma(FloatVector.broadcast(F, dtv), FloatVector.fromArray(F, dA, e)).intoArray(dA, e);
                dht.mul(decay).intoArray(dh, e);                                    // carried to h_{t−1}
            }
            xb.intoArray(lanes, 0);
            decayed.intoArray(lanes, L);
            float sxb = CpuMath.sumLanes(lanes, 0);
            g.dx().data().setAtIndex(Tensor.F32, at, g.dx().data().getAtIndex(Tensor.F32, at) + dyv * d[ch] + dtv * sxb);
            if (g.ddt() != null) add(g.ddt(), at, xv * sxb + CpuMath.sumLanes(lanes, L));
        }

        /** Adds the block's parameter gradients into their tensors. */
        void finish() {
            for (int c = 0; c < width; c++) {
                int ch = c0 + c;
                if (dD != null) add(g.dD(), ch, dD[c]);
                if (dyOffset != null) add(g.dyOffset(), ch, dyOffset[c]);
                for (int p = 0; p < n; p++) {
                    if (dA != null) add(g.dA(), (long) ch * n + p, dA[c * np + p]);
                    if (dhOffset != null) add(g.dhOffset(), (long) ch * n + p, dhOffset[c * np + p]);
                }
            }
        }
    }

    private static void add(Tensor t, long i, float v) {
        t.data().setAtIndex(Tensor.F32, i, t.data().getAtIndex(Tensor.F32, i) + v);
    }
}
