package dev.statetune.backend.cpu;

import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The backward of CpuSsdScan, written against the recurrence it equals (PAPER_NOTES.md, Mamba-2
 * analogue): the carry dh_t = dy_t C_tᵀ + exp(dt_{t+1}·A_h)·dh_{t+1} runs backwards and feeds every
 * input's gradient; dt's passes back through the clamp (zero where it clamped, as torch.clamp) and
 * the softplus. Work items are (sequence, head), so a batch of one still uses every core. Each item
 * keeps the state at every RECOMPUTE_STEPS-th step and recomputes the states of one such stretch at a
 * time, which stay in cache; the updates run along the state dimension in vectors (n padded with
 * zeros to whole vectors, which stay zero). A group's heads add into the same B and C, so each item
 * writes its own (len, n) dB | dC and they are summed in head order, as the per-head parameter
 * gradients are in sequence order: the result does not depend on the threads' schedule.
 */
final class CpuSsdScanBackward {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Steps whose states one item recomputes at a time: 17 states of (64, 128) floats, 557 KB, stay in L2. */
    private static final int RECOMPUTE_STEPS = 16;

    private CpuSsdScanBackward() {}

    /** The per-head gradients of one (sequence, head): dDtBias, dA, dD, dy′ (p), dh′ (p, n) or null. */
    private record HeadSums(float dDtBias, float dA, float dD, float[] dyOffset, float[] dhOffset) {}

    static void backward(Parallel par, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                         SsdDims dims, int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, SsdGrads g) {
        int nh = dims.nHeads(), ng = dims.nGroups(), n = dims.stateDim(), np = (n + L - 1) / L * L;
        Inputs in = new Inputs(dims, len, np, xBC, dtRaw, dtCol, dtBias, dtMin, dtMax, A, D, h0, hOffset, dy, g);
        HeadSums[] sums = new HeadSums[batch * nh];
        int wave = Math.max(1, Math.min(batch, (2 * par.threads + nh - 1) / nh));   // sequences at a time: enough items for the cores
        for (int s0 = 0; s0 < batch; s0 += wave) {
            int seqs = Math.min(wave, batch - s0), first = s0;
            float[][] dBC = new float[seqs * nh][];   // per (sequence, head): (len, 2·np) dB | dC
            par.forEach(seqs * nh, item -> {
                HeadPass pass = new HeadPass(in, first + item / nh, item % nh);
                sums[(first + item / nh) * nh + item % nh] = pass.run();
                dBC[item] = pass.dBC;
            });
            par.forEach(seqs * ng, item -> addGroup(in, dBC, first, item / ng, item % ng));
        }
        for (int h = 0; h < nh; h++) {
            float bias = 0, da = 0, dd = 0;
            for (int s = 0; s < batch; s++) {
                HeadSums hs = sums[s * nh + h];
                bias += hs.dDtBias;
                da += hs.dA;
                dd += hs.dD;
                if (g.dyOffset() != null) for (int i = 0; i < dims.headDim(); i++) add(g.dyOffset().data(), (long) h * dims.headDim() + i, hs.dyOffset[i]);
                if (g.dhOffset() != null)
                    for (int i = 0; i < dims.headDim(); i++)
                        for (int k = 0; k < n; k++) add(g.dhOffset().data(), ((long) h * dims.headDim() + i) * n + k, hs.dhOffset[i * np + k]);
            }
            if (g.dDtBias() != null) add(g.dDtBias().data(), h, bias);
            if (g.dA() != null) add(g.dA().data(), h, da);
            if (g.dD() != null) add(g.dD().data(), h, dd);
        }
    }

    /** dxBC's B and C columns of group grp, sequence first + seq, += the sum of its heads' dB | dC. */
    private static void addGroup(Inputs in, float[][] dBC, int first, int seq, int grp) {
        int nh = in.dims.nHeads(), perGroup = nh / in.dims.nGroups(), n = in.dims.stateDim(), np = in.np;
        int bCol = in.dims.innerDim() + grp * n, cCol = bCol + in.dims.nGroups() * n;
        MemorySegment dxs = in.g.dxBC().data();
        for (int t = 0; t < in.len; t++) {
            long row = (long) (first + seq) * in.len + t;
            for (int k = 0; k < n; k++) {
                float db = 0, dc = 0;
                for (int h = grp * perGroup; h < (grp + 1) * perGroup; h++) {
                    float[] part = dBC[seq * nh + h];
                    db += part[t * 2 * np + k];
                    dc += part[t * 2 * np + np + k];
                }
                add(dxs, row * in.conv + bCol + k, db);
                add(dxs, row * in.conv + cCol + k, dc);
            }
        }
    }

    /** What every item reads: sizes, the per-head parameters, and the tensors. */
    private record Inputs(SsdDims dims, int len, int np, int conv, int dtStride, int dtGradStride, int dtCol, float dtMin, float dtMax,
                          float[] a, float[] d, float[] bias, Tensor hOffset, MemorySegment xs, MemorySegment dts, MemorySegment dys,
                          Tensor h0, SsdGrads g) {
        Inputs(SsdDims dims, int len, int np, Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A,
               Tensor D, Tensor h0, Tensor hOffset, Tensor dy, SsdGrads g) {
            this(dims, len, np, dims.convDim(), (int) dtRaw.size(1), (int) g.dDtRaw().size(1), dtCol, dtMin, dtMax, A.toFloatArray(),
                    D.toFloatArray(), dtBias.toFloatArray(), hOffset, xBC.data(), dtRaw.data(), dy.data(),
                    h0, g);
        }
    }

    /** The backward of one (sequence s, head h). States are (p, np) rows of the head's channels. */
    private static final class HeadPass {
        final Inputs in;
        final int s, h, len, p, n, np, pn;
        final float a, d;
        final float[] x, gy;          // (len, p) x_t and dy_t of the head
        final float[] b, c;           // (len, np) B_t and C_t of its group
        final float[] dt, pre;        // (len) clamped softplus dt, and dt before it
        final float[] offset;         // (p, np) h′ (zeros without it)
        final float[] kept;           // (stretches + 1, p, np) the state entering every stretch of RECOMPUTE_STEPS steps
        final float[] states;         // (RECOMPUTE_STEPS + 1, p, np) the states of the stretch in hand
        final float[] carry;          // (p, np) ∂L/∂h_t through the steps after t
        final float[] dBC;            // (len, 2·np) this head's dB | dC
        final float[] dyOffset, dhOffset;   // (p), (p, np) or null
        final float[] lanes = new float[2 * L];   // two accumulators' lanes, summed in order (CpuMath.sumLanes)
        float dDtBias, dA, dD;

        HeadPass(Inputs in, int s, int h) {
            this.in = in;
            this.s = s;
            this.h = h;
            len = in.len;
            p = in.dims.headDim();
            n = in.dims.stateDim();
            np = in.np;
            pn = p * np;
            a = in.a[h];
            d = in.d[h];
            x = new float[len * p];
            gy = new float[len * p];
            b = new float[len * np];
            c = new float[len * np];
            dt = new float[len];
            pre = new float[len];
            offset = new float[pn];
            kept = new float[((len + RECOMPUTE_STEPS - 1) / RECOMPUTE_STEPS + 1) * pn];
            states = new float[(RECOMPUTE_STEPS + 1) * pn];
            carry = new float[pn];
            dBC = new float[len * 2 * np];
            dyOffset = in.g.dyOffset() == null ? null : new float[p];
            dhOffset = in.g.dhOffset() == null ? null : new float[pn];
        }

        HeadSums run() {
            load();
            for (int t0 = 0, at = 0; t0 < len; t0 += RECOMPUTE_STEPS, at += pn) {   // the states entering each stretch
                System.arraycopy(kept, at, kept, at + pn, pn);
                for (int t = t0; t < Math.min(len, t0 + RECOMPUTE_STEPS); t++) advance(kept, at + pn, t);
            }
            for (int t0 = (len - 1) / RECOMPUTE_STEPS * RECOMPUTE_STEPS; t0 >= 0; t0 -= RECOMPUTE_STEPS) {
                int t1 = Math.min(len, t0 + RECOMPUTE_STEPS);
                System.arraycopy(kept, t0 / RECOMPUTE_STEPS * pn, states, 0, pn);
                for (int t = t0; t < t1; t++) {
                    System.arraycopy(states, (t - t0) * pn, states, (t - t0 + 1) * pn, pn);
                    advance(states, (t - t0 + 1) * pn, t);
                }
                for (int t = t1 - 1; t >= t0; t--) step(t, (t - t0) * pn);
            }
            Tensor dh0 = in.g.dh0();
            if (dh0 != null)
                for (int i = 0; i < p; i++)
                    for (int k = 0; k < n; k++) add(dh0.data(), (((long) s * in.dims.nHeads() + h) * p + i) * n + k, carry[i * np + k]);
            return new HeadSums(dDtBias, dA, dD, dyOffset, dhOffset);
        }

        /** Copies the head's inputs into local (padded) arrays; kept's first state is h0. */
        private void load() {
            int di = in.dims.innerDim(), bCol = di + in.dims.group(h) * n, cCol = bCol + in.dims.nGroups() * n;
            for (int t = 0; t < len; t++) {
                long row = (long) s * len + t;
                pre[t] = in.dts.getAtIndex(Tensor.F32, row * in.dtStride + in.dtCol + h) + in.bias[h];
                dt[t] = Math.min(Math.max(CpuMath.softplus(pre[t]), in.dtMin), in.dtMax);
                MemorySegment.copy(in.xs, Tensor.F32, (row * in.conv + (long) h * p) * 4, x, t * p, p);
                MemorySegment.copy(in.dys, Tensor.F32, (row * di + (long) h * p) * 4, gy, t * p, p);
                MemorySegment.copy(in.xs, Tensor.F32, (row * in.conv + bCol) * 4, b, t * np, n);
                MemorySegment.copy(in.xs, Tensor.F32, (row * in.conv + cCol) * 4, c, t * np, n);
            }
            if (in.hOffset != null) CpuMath.paddedRows(in.hOffset.data(), (long) h * p * n, p, n, np, offset);
            if (in.h0 != null) CpuMath.paddedRows(in.h0.data(), ((long) s * in.dims.nHeads() + h) * p * n, p, n, np, kept);
        }

        /** The state at `at` of `to`, h_t, becomes h_{t+1} = exp(dt·A)·h_t + dt·x_t B_tᵀ in place. */
        private void advance(float[] to, int at, int t) {
            float decay = CpuMath.exp(dt[t] * a);
            for (int i = 0; i < p; i++) {
                FloatVector u = FloatVector.broadcast(F, dt[t] * x[t * p + i]);
                for (int k = 0; k < np; k += L) {
                    int e = at + i * np + k;
                    u.fma(FloatVector.fromArray(F, b, t * np + k), FloatVector.fromArray(F, to, e).mul(decay)).intoArray(to, e);
                }
            }
        }

        /** Step t's gradients, with h_t at states[prev] and h_{t+1} after it; carry goes from ∂L/∂h_{t+1} to ∂L/∂h_t. */
        private void step(int t, int prev) {
            int cur = prev + pn;
            float decay = CpuMath.exp(dt[t] * a), ddt = 0, dAt = 0;
            FloatVector decayV = FloatVector.broadcast(F, decay);
            for (int i = 0; i < p; i++) {
                float gyi = gy[t * p + i], xi = x[t * p + i];
                FloatVector g = FloatVector.broadcast(F, gyi), dtx = FloatVector.broadcast(F, dt[t] * xi);
                FloatVector gb = FloatVector.zero(F), gh = FloatVector.zero(F);   // Σ_k grad·B_t, Σ_k grad·h_t
                for (int k = 0; k < np; k += L) {
                    int e = i * np + k, bt = t * np + k, db = t * 2 * np + k, dc = db + np;
                    FloatVector cv = FloatVector.fromArray(F, c, bt), bv = FloatVector.fromArray(F, b, bt);
                    FloatVector grad = g.fma(cv, FloatVector.fromArray(F, carry, e));   // ∂L/∂h_{t+1}
                    FloatVector read = FloatVector.fromArray(F, states, cur + e).add(FloatVector.fromArray(F, offset, e));
                    g.fma(read, FloatVector.fromArray(F, dBC, dc)).intoArray(dBC, dc);
                    dtx.fma(grad, FloatVector.fromArray(F, dBC, db)).intoArray(dBC, db);
                    if (dhOffset != null) g.fma(cv, FloatVector.fromArray(F, dhOffset, e)).intoArray(dhOffset, e);
                    gb = grad.fma(bv, gb);
                    gh = grad.fma(FloatVector.fromArray(F, states, prev + e), gh);
                    grad.mul(decayV).intoArray(carry, e);
                }
                gb.intoArray(lanes, 0);
                gh.intoArray(lanes, L);
                float sgb = CpuMath.sumLanes(lanes, 0), sgh = CpuMath.sumLanes(lanes, L);
                add(in.g.dxBC().data(), ((long) s * len + t) * in.conv + (long) h * p + i, d * gyi + dt[t] * sgb);
                ddt += xi * sgb + a * decay * sgh;
                dAt += dt[t] * decay * sgh;
                dD += gyi * xi;
                if (dyOffset != null) dyOffset[i] += gyi;
            }
            dA += dAt;
            float sp = CpuMath.softplus(pre[t]);
            float dPre = sp < in.dtMin || sp > in.dtMax ? 0 : ddt * (pre[t] > 20f ? 1f : CpuMath.sigmoid(pre[t]));
            add(in.g.dDtRaw().data(), ((long) s * len + t) * in.dtGradStride + in.dtCol + h, dPre);
            dDtBias += dPre;
        }
    }

    private static void add(MemorySegment m, long i, float v) {
        m.setAtIndex(Tensor.F32, i, m.getAtIndex(Tensor.F32, i) + v);
    }
}
