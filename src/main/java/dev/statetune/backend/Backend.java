package dev.statetune.backend;

import dev.statetune.tensor.Tensor;

/**
 * The primitive ops of a Mamba forward pass; a backend (CPU now, CUDA later) implements each one.
 * Activations are float32 (T, features) row-major matrices with T = batch·len rows, sequence-major.
 * Where an op reads a column range of a wider matrix (x and z of in_proj's output; dt, B and C of
 * x_proj's output) it takes the column offset, and the row stride is the matrix's width.
 *
 * The convolution and the scan take their state explicitly: a whole-sequence forward starts from
 * zero states, a one-token decode step is the same op with len = 1 and the carried states.
 */
public interface Backend extends AutoCloseable {
    String name();

    /**
     * Waits until every op issued so far has finished. Ops may run asynchronously (CUDA); host code
     * calls this before it reads a tensor an op wrote. The CPU backend's ops are done on return.
     */
    default void synchronize() {}

    /** A region of temporary tensors; closing it frees them (see {@link #openScope}). */
    interface Scope extends AutoCloseable {
        /**
         * Hands these tensors (or the blocks their views lie in) to the enclosing scope, so that they
         * outlive this one; tensors this scope did not allocate are left as they are (null too).
         */
        default void keep(Tensor... tensors) {}

        @Override
        void close();
    }

    /**
     * Until the returned scope closes, the tensors {@link #allocate} returns are freed when it closes
     * instead of when the garbage collector finds them (the CPU backend leaves them to the collector).
     * For work whose tensors all die with it, such as one training step's activations. Scopes nest
     * and close innermost first.
     */
    default Scope openScope() {
        return () -> {};
    }

    /** A step (a decode step, a training step) recorded once and run again with new inputs (see captureStep). */
    interface StepGraph extends AutoCloseable {
        /**
         * The step again, its embedding reading these ids and its other host inputs read from the arrays
         * it read while recording, as they are now: its result, ready for the host to read.
         */
        Tensor replay(int[] ids);

        /** Frees the recording (its result tensor with it). */
        @Override
        void close();
    }

    /**
     * Records `step` — work whose inputs that change from one run to the next are the token ids it
     * embeds (once) and the contents of host arrays it reads (a training step's targets, an optimizer's
     * schedule) — to be run by StepGraph.replay (the CUDA backend: a CUDA graph, one launch instead of
     * hundreds or thousands). Nothing runs while it records, and host code in `step` does not run again
     * at a replay. Null when this backend does not record, or the step does something a recording cannot
     * hold (it needs a result on the host before it ends, embeds twice, or draws dropout masks).
     */
    default StepGraph captureStep(java.util.function.Supplier<Tensor> step) {
        return null;
    }

    /** A zero-filled float32 activation tensor. */
    Tensor allocate(long... shape);

    /**
     * A float32 activation tensor for an op that writes every element of it (a linear's output, the
     * conv's, the scan's, a norm's): its contents are undefined until then. The CUDA backend skips the
     * pass over the memory that allocate's zeros cost.
     */
    default Tensor allocateForOverwrite(long... shape) {
        return allocate(shape);
    }

    /**
     * An activation (rows, cols) that a linear reads, written in full by its op, as allocateForOverwrite's.
     * With --dtype bf16 the CUDA backend gives it a bf16 copy that rmsNorm, addRmsNorm, causalConv1dSilu,
     * selectiveScan and gatedRmsNorm fill as they write it, so that the linear need not round it first.
     */
    default Tensor allocateLinearInput(long rows, long cols) {
        return allocateForOverwrite(rows, cols);
    }

    /**
     * A (rows, cols) tensor that a training forward keeps for its backward, written in full by a
     * linear without bias and read only by causalConv1dSilu, selectiveScan, ssdScan, gatedRmsNorm and
     * their backwards (in_proj's output: Mamba-1's x | z, Mamba-2's z | xBC | dt): float32 as
     * allocateForOverwrite's, or bf16 where the backend keeps activations so (CUDA with --dtype bf16, as
     * mamba_ssm keeps xz), which halves what it holds.
     */
    default Tensor allocateKept(long rows, long cols) {
        return allocateForOverwrite(rows, cols);
    }

    /**
     * A zero-filled gradient for an allocateKept tensor, of its type: the backwards of the ops that read
     * it add into it (in bf16, rounding once per add) and linearBackward reads it as dOut, without dBias.
     */
    default Tensor allocateKeptGradient(long rows, long cols) {
        return allocate(rows, cols);
    }

    /** A stored weight in the form the kernels read (the CPU backend reads F32 and BF16 in place). */
    Tensor prepareWeight(Tensor stored);

    /** out (T, d) = table[ids] for table (vocab, d). */
    void embedding(Tensor table, int[] ids, Tensor out);

    /** The index of each row's largest value (the first on ties), for greedy decoding: logits (rows, vocab). */
    default int[] argmaxRows(Tensor logits) {
        synchronize();
        int rows = (int) logits.size(0), v = (int) logits.size(1);
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++) {
            long base = (long) r * v;
            int best = 0;
            for (int i = 1; i < v; i++) if (logits.getFloat(base + i) > logits.getFloat(base + best)) best = i;
            out[r] = best;
        }
        return out;
    }

    /** out (T, d) = x / sqrt(mean(x²) + eps) ⊙ weight (d). */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out);

    /** residual (T, d) += add, then out = rmsNorm(residual): a block's output joins the stream and the next block's norm reads it. */
    default void addRmsNorm(Tensor residual, Tensor add, Tensor weight, float eps, Tensor out) {
        addInPlace(residual, add);
        rmsNorm(residual, weight, eps, out);
    }

    /** dst = src (same shape and type). */
    void copy(Tensor src, Tensor dst);

    /** dst = −exp(src), elementwise (A from A_log), rounded from double as Java's (float) -Math.exp. */
    void negExp(Tensor src, Tensor dst);

    /** dst (T, w) = src[:, col : col+w]. */
    void copyColumns(Tensor src, int col, Tensor dst);

    /** dst[:, col : col+w] += scale · src (T, w). */
    void addScaledColumns(Tensor dst, int col, Tensor src, float scale);

    /**
     * Inverted dropout: out (T, w) = src[:, col : col+w] with each element zeroed with probability p, else scaled by
     * 1/(1−p) (out may be src itself, col 0); mask (may be null) gets the factor used (0 or 1/(1−p)). The draws are a
     * function of seed[0] + salt alone, seed an I64 (1) host tensor read as the op is issued (a recorded training
     * step reads it again at each replay, so that it draws anew).
     */
    void dropout(Tensor src, int col, float p, Tensor seed, long salt, Tensor out, Tensor mask);

    /** acc (…) ⊙= x (…), elementwise. */
    void multiplyInPlace(Tensor acc, Tensor x);

    /** acc (T, d) += x (T, d). */
    void addInPlace(Tensor acc, Tensor x);

    /** out (T, n) = x[:, xCol : xCol + k] · wᵀ + bias, for w (n, k), bias (n) or null; out may be allocateKept's, without bias. */
    void linear(Tensor x, int xCol, Tensor w, Tensor bias, Tensor out);

    /**
     * Depthwise causal convolution + SiLU over x = in[:, inCol : inCol+di] of in (b·len, ≥inCol+di):
     * out (b·len, di) = silu(conv(x) + bias). convState (b, di, k−1) holds the k−1 inputs before
     * the first position (zeros at the start of a sequence) and is updated to the last k−1 inputs.
     */
    void causalConv1dSilu(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out);

    /**
     * The selective scan of PAPER_NOTES.md, gated (Mamba-1), with the State-offset seams:
     * h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·x_t;  y_t = (C_t·(h_t + h′) + D ⊙ x_t + y′) ⊙ silu(z_t),
     * with dt_t = softplus(dtRaw_t) taken inside the scan (torch's threshold: above 20 it stays).
     *
     * @param x     (b·len, di) conv output
     * @param dt    (b·len, di) dt_proj's output, before the softplus (as mamba_ssm's delta_softplus)
     * @param A     (di, n) = −exp(A_log)
     * @param bc    (b·len, ≥ bCol + 2n) x_proj output: B at columns [bCol, bCol+n), C at [bCol+n, bCol+2n)
     * @param D     (di)
     * @param z     (b·len, ≥ zCol + di) gate at columns [zCol, zCol+di)
     * @param state   (b, di, n) h before the first position, updated to the last position's h
     * @param hOffset (di, n) h′, read out only (State-offset Tuning, h), or null
     * @param yOffset (di) y′ added before the gate (State-offset Tuning, y), or null
     * @param y       (b·len, di) output
     */
    void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                       int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y);

    /**
     * Gradients of selectiveScan, accumulated (+=) into the non-null fields of grads but dx and ddt, which
     * are written (they may be allocateForOverwrite's), from dy (b·len, di)
     * and the forward's inputs (h0 (b, di, n) is the state before the first position, not updated).
     * Reads as the forward in reverse: a reverse scan over time.
     */
    void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                               int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads grads);

    /**
     * Where a training forward's selectiveScan over (b, len) with A (di, n) may keep what its backward
     * would otherwise recompute (the CUDA backend: the state entering each chunk of time); null when
     * this backend keeps nothing.
     */
    default Tensor scanMemo(int batch, int len, int di, int n) {
        return null;
    }

    /** selectiveScan that also fills memo (from scanMemo; null: nothing kept) for the backward. */
    default void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                               int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y, Tensor memo) {
        selectiveScan(x, dt, A, bc, bCol, D, z, zCol, batch, len, state, hOffset, yOffset, y);
    }

    /**
     * A one-token step (len 1) of selectiveScan whose dt is dt_proj's output: dt (b, di) = dtIn[:, 0:r] ·
     * dtProjᵀ + dtProjBias for dtProj (di, r), dtProjBias (di) or null. The CUDA backend computes dt inside
     * the scan's kernel for few sequences; otherwise dt is scratch for the linear.
     */
    default void selectiveScanStep(Tensor dtIn, Tensor dtProj, Tensor dtProjBias, Tensor dt, Tensor x, Tensor A, Tensor bc, int bCol,
                                   Tensor D, Tensor z, int zCol, int batch, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        linear(dtIn, 0, dtProj, dtProjBias, dt);
        selectiveScan(x, dt, A, bc, bCol, D, z, zCol, batch, 1, state, hOffset, yOffset, y);
    }

    /** selectiveScanBackward that reads the memo its forward filled (null: recomputes it). */
    default void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol, int batch,
                                       int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads grads, Tensor memo) {
        selectiveScanBackward(x, dt, A, bc, bCol, D, z, zCol, batch, len, h0, hOffset, yOffset, dy, grads);
    }

    /**
     * The Mamba-2 SSD scan (PAPER_NOTES.md, Mamba-2 analogue), computed chunk by chunk but equal to
     * the recurrence, per head h reading group g = dims.group(h), with the State-offset seams:
     * dt_t = clamp(softplus(dtRaw_t + dtBias), dtMin, dtMax);  h_t = exp(dt_t·A_h)·h_{t−1} + dt_t·x_t B_tᵀ;
     * y_t = (h_t + h′)·C_t + D_h·x_t + y′   (no gate: Mamba-2 gates in the norm that follows).
     *
     * @param xBC     (b·len, convDim) conv output: x (heads × headDim) | B (groups × n) | C (groups × n)
     * @param dtRaw   (b·len, ≥ dtCol + nHeads) in_proj output, dt before its bias at columns [dtCol, dtCol+nHeads)
     * @param dtBias  (nHeads)
     * @param A       (nHeads) = −exp(A_log)
     * @param D       (nHeads)
     * @param state   (b, nHeads, headDim, n) h before the first position, updated to the last position's h
     * @param hOffset (nHeads, headDim, n) h′, read out only, or null
     * @param yOffset (nHeads, headDim) y′, or null
     * @param y       (b·len, nHeads·headDim) output
     */
    void ssdScan(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                 SsdDims dims, int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y);

    /**
     * Mamba-2's gated RMSNorm (transformers' MambaRMSNormGated, norm after gate): v = y ⊙ silu(z);
     * out = v / sqrt(mean over its group of v² + eps) ⊙ weight, groups of groupSize columns.
     *
     * @param y      (T, w)
     * @param z      (T, ≥ zCol + w) gate at columns [zCol, zCol+w)
     * @param weight (w)
     * @param out    (T, w)
     */
    void gatedRmsNorm(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor out);

    // ---- backward: gradients accumulate (+=); a null gradient is not computed ----

    /** dTable (vocab, d) rows ids[t] += dOut[t] (for a trained embedding). */
    void embeddingBackward(int[] ids, Tensor dOut, Tensor dTable);

    /** dx (T, d) += ∂/∂x, dWeight (d) += ∂/∂weight of rmsNorm. */
    void rmsNormBackward(Tensor x, Tensor weight, float eps, Tensor dOut, Tensor dx, Tensor dWeight);

    /**
     * Of linear: dx[:, dxCol : dxCol+k] += dOut · w;  dW (n, k) += dOutᵀ · x[:, xCol : xCol+k];  dBias (n) += Σ dOut.
     * x is read for dW alone, and may be null without it.
     */
    void linearBackward(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, Tensor dW, Tensor dBias);

    /**
     * As linearBackward with dxCol 0, but dx (T, k) = dOut · w is written, not added to: dx may be
     * allocateForOverwrite's (the CUDA backend spares the zeroing).
     */
    default void linearBackwardOverwritingDx(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, Tensor dW, Tensor dBias) {
        zero(dx);
        linearBackward(x, xCol, w, dOut, dx, 0, dW, dBias);
    }

    /** Of causalConv1dSilu started from state0 (b, di, k−1) or zeros: dIn[:, inCol : inCol+di], dWeight, dBias, dState0 += …. */
    void causalConv1dSiluBackward(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor state0,
                                  Tensor dOut, Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0);

    /**
     * Gradients of ssdScan, accumulated (+=) into the non-null fields of grads, from dy (b·len, nHeads·headDim)
     * and the forward's inputs (h0 (b, nHeads, headDim, n) is the state before the first position, not
     * updated; null for zeros). Reads as the forward in reverse: a reverse scan over time.
     */
    void ssdScanBackward(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D,
                         SsdDims dims, int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, SsdGrads grads);

    /** Of gatedRmsNorm: dy (T, w) += ∂/∂y, dz[:, zCol : zCol+w] += ∂/∂z (dz laid out as z), dWeight (w) += ∂/∂weight. */
    void gatedRmsNormBackward(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor dOut,
                              Tensor dy, Tensor dz, Tensor dWeight);

    /**
     * Cross entropy of logits = hidden (T, d) · wᵀ at rows whose target ≥ 0 (−100 = ignored),
     * without materialising the whole logits. Adds to sums (LossResult.SUMS doubles, allocateSums):
     * the summed loss, the number of targets, the argmax hits and the mean loss of this call. With
     * dHidden non-null also dHidden += ∂mean/∂hidden and dW (vocab, d) += ∂mean/∂w, the mean over
     * this call's targets. Nothing comes back to the host: a training step need not wait for it.
     */
    void crossEntropy(Tensor hidden, Tensor w, int[] targets, Tensor dHidden, Tensor dW, Tensor sums);

    // ---- The optimizer's ops, on a trained parameter's value and gradient and its optimizer moments (host tensors).

    /**
     * Keeps a device copy of this host tensor's whole array (a parameter, its gradient, an optimizer
     * moment) across synchronize, until dropResident: ops read and write the copy, so that a training
     * step moves nothing between host and device, and the host array is stale until writeBackResident.
     * The CPU backend works on the host arrays themselves and does nothing.
     */
    default void keepResident(Tensor host) {}

    /** Copies every resident array's device copy to the host array, after the ops issued so far. */
    default void writeBackResident() {}

    /** writeBackResident, then frees the device copies: the host arrays are the state again. */
    default void dropResident() {}

    /**
     * One AdamW step's constants (train.AdamW) and its schedule (3): this step's decay, stepSize and bc2,
     * which change with the learning rate and the step count, read from a tensor so that a recorded step
     * reads new values. x ← x·decay when decays; m ← lerp(m, g, w1); v ← v·b2 + w2·g²; x ← x − stepSize·m/(√v/bc2 + eps).
     */
    record AdamWStep(boolean decays, float w1, float b2, float w2, float eps, Tensor schedule) {}

    /** AdamW on x with gradient g and moments m, v (all as long), in fp32 with torch's rounding: the same numbers on every backend. */
    void adamwStep(Tensor x, Tensor g, Tensor m, Tensor v, AdamWStep s);

    /** SGD with this step's learning rate lr (1): x ← x − lr·(g + wd·x), or x ← x − lr·g when wd = 0. */
    void sgdStep(Tensor x, Tensor g, Tensor lr, float wd);

    /**
     * n zeroed float64 sums (F64 (n)) that ops add into — a step's loss (crossEntropy), a squared gradient
     * norm (sumOfSquares) — and host code reads after synchronize.
     */
    Tensor allocateSums(int n);

    /** into (1, F64) += Σ t² over every element of the tensors, summed in double. */
    void sumOfSquares(java.util.List<Tensor> tensors, Tensor into);

    /**
     * Gradient clipping as torch.nn.utils.clip_grad_norm_ after sumOfSquares: with norm = √sumOfSquares and
     * coef = (float) (maxNorm / (norm + 1e-6)) in double, every tensor t ← coef·t when norm is finite and
     * coef &lt; 1, decided on the device.
     */
    void clipToNorm(java.util.List<Tensor> tensors, Tensor sumOfSquares, double maxNorm);

    /** t ← c·t. */
    void scaleInPlace(Tensor t, float c);

    /** t ← 0. */
    void zero(Tensor t);

    @Override
    void close();
}
