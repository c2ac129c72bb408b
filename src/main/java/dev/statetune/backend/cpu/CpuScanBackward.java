package dev.statetune.backend.cpu;

import dev.statetune.backend.ScanGrads;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The backward of CpuScan: the forward in reverse, as a reverse scan over time. Per block of
 * channels and per sequence, the states h_0..h_len are recomputed into a local buffer (nothing of
 * size (b, len, di, n) is kept between forward and backward), then the carry
 * dh_t = C_t·dy_t + exp(dt_{t+1}·A) ⊙ dh_{t+1} runs backwards and feeds every input's gradient.
 * B and C are shared by all channels, so each block sums its dB, dC into its own buffer first.
 */
final class CpuScanBackward {
    private static final int CHANNEL_BLOCK = 32;

    private CpuScanBackward() {}

    static void backward(Parallel par, Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                         int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads g) {
        int inner = (int) x.size(1), n = (int) A.size(1), rows = batch * len;
        int bcStride = (int) bc.size(1), zStride = (int) z.size(1);
        float[] a = A.toFloatArray(), d = D.toFloatArray();                                      // (di, n), (di)
        float[] hOff = hOffset == null ? new float[inner * n] : hOffset.toFloatArray();          // (di, n)
        float[] yOff = yOffset == null ? new float[inner] : yOffset.toFloatArray();              // (di)
        int blocks = (inner + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
        float[][] dBC = new float[blocks][rows * 2 * n];                                          // per block: (b·len, 2n)
        MemorySegment xs = x.data(), dts = dt.data(), bcs = bc.data(), zs = z.data(), dys = dy.data();
        par.forEach(blocks, block -> {
            int c0 = block * CHANNEL_BLOCK, c1 = Math.min(inner, c0 + CHANNEL_BLOCK), width = c1 - c0;
            float[] hist = new float[(len + 1) * width * n];   // (len+1, width, n): h_0 .. h_len
            float[] dh = new float[width * n];                 // (width, n) the carry
            float[] partial = dBC[block];
            float[] bt = new float[n], ct = new float[n];   // B_t, C_t of the current step
            for (int s = 0; s < batch; s++) {
                for (int c = 0; c < width; c++)
                    for (int p = 0; p < n; p++)
                        hist[c * n + p] = h0 == null ? 0 : h0.data().getAtIndex(Tensor.F32, ((long) s * inner + c0 + c) * n + p);
                for (int t = 0; t < len; t++) {          // recompute h_1..h_len
                    long row = (long) s * len + t;
                    MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol) * 4, bt, 0, n);
                    for (int c = 0; c < width; c++) {
                        float dtv = dts.getAtIndex(Tensor.F32, row * inner + c0 + c), xv = xs.getAtIndex(Tensor.F32, row * inner + c0 + c);
                        int prev = (t * width + c) * n, cur = prev + width * n, ab = (c0 + c) * n;
                        for (int p = 0; p < n; p++)
                            hist[cur + p] = CpuMath.exp(dtv * a[ab + p]) * hist[prev + p] + dtv * xv * bt[p];
                    }
                }
                java.util.Arrays.fill(dh, 0f);
                for (int t = len - 1; t >= 0; t--) {
                    long row = (long) s * len + t;
                    MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol) * 4, bt, 0, n);
                    MemorySegment.copy(bcs, Tensor.F32, (row * bcStride + bCol + n) * 4, ct, 0, n);
                    for (int c = 0; c < width; c++) {
                        int ch = c0 + c, ab = ch * n, prev = (t * width + c) * n, cur = prev + width * n;
                        long at = row * inner + ch;
                        float dtv = dts.getAtIndex(Tensor.F32, at), xv = xs.getAtIndex(Tensor.F32, at);
                        float zv = zs.getAtIndex(Tensor.F32, row * zStride + zCol + ch);
                        float y = d[ch] * xv + yOff[ch];
                        for (int p = 0; p < n; p++) y += ct[p] * (hist[cur + p] + hOff[ab + p]);
                        float sig = CpuMath.sigmoid(zv);
                        float gy = dys.getAtIndex(Tensor.F32, at);
                        float dyv = gy * zv * sig;                                  // through the gate
                        add(g.dz(), row * zStride + zCol + ch, gy * y * sig * (1 + zv * (1 - sig)));
                        if (g.dD() != null) add(g.dD(), ch, dyv * xv);
                        if (g.dyOffset() != null) add(g.dyOffset(), ch, dyv);
                        float dx = dyv * d[ch], ddt = 0;
                        for (int p = 0; p < n; p++) {
                            float bv = bt[p], cv = ct[p];
                            partial[(int) row * 2 * n + n + p] += dyv * (hist[cur + p] + hOff[ab + p]);   // dC_t
                            if (g.dhOffset() != null) add(g.dhOffset(), ab + p, dyv * cv);
                            float dht = dh[c * n + p] + dyv * cv;                   // dL/dh_t
                            float decay = CpuMath.exp(dtv * a[ab + p]);
                            partial[(int) row * 2 * n + p] += dht * dtv * xv;       // dB_t
                            dx += dht * dtv * bv;
                            ddt += dht * (xv * bv + a[ab + p] * decay * hist[prev + p]);
                            if (g.dA() != null) add(g.dA(), ab + p, dht * dtv * decay * hist[prev + p]);
                            dh[c * n + p] = dht * decay;                            // carried to h_{t−1}
                        }
                        add(g.dx(), at, dx);
                        add(g.ddt(), at, ddt);
                    }
                }
                if (g.dh0() != null)
                    for (int c = 0; c < width; c++)
                        for (int p = 0; p < n; p++) add(g.dh0(), ((long) s * inner + c0 + c) * n + p, dh[c * n + p]);
            }
        });
        MemorySegment dbc = g.dbc().data();
        int dbcStride = (int) g.dbc().size(1);
        par.forEach(rows, row -> {
            for (int p = 0; p < 2 * n; p++) {
                float sum = 0;
                for (float[] partial : dBC) sum += partial[row * 2 * n + p];
                long at = (long) row * dbcStride + bCol + p;
                dbc.setAtIndex(Tensor.F32, at, dbc.getAtIndex(Tensor.F32, at) + sum);
            }
        });
    }

    private static void add(Tensor t, long i, float v) {
        t.data().setAtIndex(Tensor.F32, i, t.data().getAtIndex(Tensor.F32, i) + v);
    }
}
