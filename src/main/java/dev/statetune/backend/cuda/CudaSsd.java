package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;
import dev.statetune.backend.SsdDims;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-2 ops of CudaBackend (ssdScan, gatedRmsNorm and their backwards; kernels in
 * resources/dev/statetune/cuda/mamba2.cu): launch shapes and scratch buffers. CudaBackend resolves
 * the tensors to device addresses (0 for null) and passes widths of the matrices read by column.
 */
final class CudaSsd {
    private static final int BLOCK = 256, SCAN_BLOCK = 128, NORM_ROW_BLOCKS = 1024;
    /** Threads of the matrix-form chunk passes (SSD_FORWARD_BLOCK, SSD_BACKWARD_BLOCK in mamba2.cu). */
    private static final int FORWARD_BLOCK = 256, BACKWARD_BLOCK = 512;
    /** The chunks of the matrix-form passes: 64 steps, or 32 where their tiles would not fit a block. */
    private static final int MAX_CHUNK = 64, MIN_CHUNK = 32;
    /** The most shared memory a block may ask for on sm_80 and sm_90 GPUs (227 KB). */
    private static final int MAX_SHARED_FLOATS = 227 * 256;

    private final Kernels kernels;
    private final DeviceMemory memory;
    private final Cublas cublas;
    /**
     * --dtype bf16: the state offset's GEMMs round their operands to bf16, as the model's other GEMMs,
     * and the chunk passes multiply in TF32 (their _tf32 instances) instead of 3xTF32.
     */
    private final boolean bf16;

    CudaSsd(Kernels kernels, DeviceMemory memory, Cublas cublas, boolean bf16) {
        this.kernels = kernels;
        this.memory = memory;
        this.cublas = cublas;
        this.bf16 = bf16;
    }

    /**
     * ssdScan. A sequence no longer than one chunk (a decode step, a short prompt) takes the one-pass
     * ssd_scan, with CudaScan.lanes(stateDim) threads sharing one channel's states; a longer one the
     * chunked passes in matrix form: the walk over the chunks that leaves the state entering each chunk
     * (and the final one in state), then each chunk's y from its start state. The state offset's
     * read-out C·h′ is one GEMM per group.
     */
    void scan(SsdDims dims, int batch, int len, long xBC, long dtRaw, boolean dtHalf, int dtWidth, int dtCol, long dtBias, float dtMin,
              float dtMax, long A, long D, long state, long hOffset, long yOffset, long y) {
        int di = dims.innerDim(), n = dims.stateDim(), lanes = CudaScan.lanes(n), perBlock = SCAN_BLOCK / lanes;
        Chunked c = new Chunked(dims, batch, len, xBC, dtRaw, dtHalf, dtWidth, dtCol, dtBias, dtMin, dtMax, A);
        if (len <= c.q) {
            kernels.launch("ssd_scan" + CudaScan.variant(n), (di + perBlock - 1) / perBlock, batch, SCAN_BLOCK, xBC, dims.convDim(), dtRaw,
                    dtHalf ? 1 : 0, dtWidth, dtCol, dtBias, dtMin, dtMax, A, D, dims.headDim(), dims.nGroups(), dims.nHeads() / dims.nGroups(), n, di, len,
                    state, hOffset, yOffset, y);
            return;
        }
        MemorySegment start = c.walk(false, 0L, state, state), cb = c.products();
        c.launch("ssd_chunk_out", FORWARD_BLOCK, c.outFloats(), cb.address(), D, start.address(), yOffset, y);
        memory.release(start);
        memory.release(cb);
        if (hOffset != 0) offsetGemms(dims, batch * len, xBC, hOffset, y, 0L, 0L, 0L);
    }

    /**
     * ssdScanBackward (dxBC and dDtRaw, of dtRaw's type, required; the rest may be 0) in the chunks of scan: the state
     * entering each chunk (as scan), the carry into each chunk's end from the later ones (the walk in
     * reverse), then every gradient of one head and chunk per block. Scratch beyond those edge states:
     * each head's dB | dC that scan_sum_partials adds into dxBC. h′'s terms are GEMMs.
     */
    void scanBackward(SsdDims dims, int batch, int len, long xBC, long dtRaw, boolean dtHalf, int dtWidth, int dtCol, long dtBias,
                      float dtMin, float dtMax, long A, long D, long h0, long hOffset, long dy, long dxBC, long dDtRaw, int dDtWidth,
                      long dDtBias, long dA, long dD, long dh0, long dhOffset, long dyOffset) {
        int nh = dims.nHeads(), n = dims.stateDim(), ng = dims.nGroups(), di = dims.innerDim();
        Chunked c = new Chunked(dims, batch, len, xBC, dtRaw, dtHalf, dtWidth, dtCol, dtBias, dtMin, dtMax, A);
        MemorySegment start = c.walk(false, 0L, h0, 0L), carryIn = c.walk(true, dy, 0L, dh0);
        long rows = (long) batch * len, bcWidth = 2L * ng * n;
        MemorySegment bcPartials = memory.scratch(4L * (nh / ng) * rows * bcWidth), cb = c.products();
        c.launch("ssd_chunk_backward", BACKWARD_BLOCK, c.backwardFloats(), cb.address(), D, start.address(), carryIn.address(), dy, dxBC, dDtRaw, dDtWidth,
                bcPartials.address(), dDtBias, dA, dD, dyOffset);
        sumPartials(bcPartials, nh / ng, rows, (int) bcWidth, dxBC, dims.convDim(), di);
        for (MemorySegment m : new MemorySegment[] {start, carryIn, bcPartials, cb}) memory.release(m);
        if (hOffset != 0 || dhOffset != 0) offsetGemms(dims, (int) rows, xBC, hOffset, 0L, dy, dxBC, dhOffset);
    }

    /**
     * The state offset h′ (nHeads, headDim, n) read out through each head's group C (columns of xBC), as
     * one GEMM per group over all rows: y (rows, di) += C·h′ᵀ; and backwards dC += dy·h′ (into dxBC's C
     * columns) and dh′ += Cᵀ·dy. Each of y, dxBC, dhOffset may be 0 (not wanted).
     */
    private void offsetGemms(SsdDims dims, int rows, long xBC, long hOffset, long y, long dy, long dxBC, long dhOffset) {
        int di = dims.innerDim(), n = dims.stateDim(), ng = dims.nGroups(), conv = dims.convDim(), cols = di / ng;
        for (int g = 0; g < ng; g++) {
            long c = xBC + 4L * (di + (long) (ng + g) * n), offset = hOffset + 4L * g * cols * n;   // C of group g, its heads' h′
            if (y != 0)   // column-major: yᵀ (cols × rows) += h′ᵀ-as-stored (cols × n) · Cᵀ (n × rows)
                gemm(Cublas.OP_T, Cublas.OP_N, cols, rows, n, offset, n, c, conv, y + 4L * g * cols, di);
            if (dxBC != 0 && hOffset != 0)   // dCᵀ (n × rows) += h′ (n × cols) · dyᵀ (cols × rows)
                gemm(Cublas.OP_N, Cublas.OP_N, n, rows, cols, offset, n, dy + 4L * g * cols, di, dxBC + 4L * (di + (long) (ng + g) * n), conv);
            if (dhOffset != 0)   // dh′ (n × cols) += Cᵀ (n × rows) · dy (rows × cols)
                gemm(Cublas.OP_N, Cublas.OP_T, n, cols, rows, c, conv, dy + 4L * g * cols, di, dhOffset + 4L * g * cols * n, n);
        }
    }

    /** C += op(A)·op(B) on fp32 matrices: in fp32, or with --dtype bf16 on tensor cores in bf16. */
    private void gemm(int transA, int transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        if (bf16) cublas.gemmInBf16(transA, transB, m, n, k, a, lda, b, ldb, true, c, ldc);
        else cublas.gemm(transA, transB, m, n, k, a, Cublas.R_32F, lda, b, Cublas.R_32F, ldb, true, c, ldc);
    }

    /**
     * The chunked passes' common arguments and shape: chunks of q steps, grid (nHeads, batch, chunks);
     * tiles padded to pp = headDim rounded up to 32 and np = stateDim rounded up to 16 (the tensor-core
     * tiles), rows `stride` floats apart. The kernels' suffix picks their instance for the common shape
     * (chunk 64, head size 64, state size 128) and for TF32 products (bf16).
     */
    private final class Chunked {
        final SsdDims dims;
        final int batch, q, chunks, pp, np;
        final String suffix;
        final Object[] common;

        Chunked(SsdDims dims, int batch, int len, long xBC, long dtRaw, boolean dtHalf, int dtWidth, int dtCol, long dtBias, float dtMin,
                float dtMax, long A) {
            this.dims = dims;
            this.batch = batch;
            pp = (dims.headDim() + 31) & ~31;
            np = (dims.stateDim() + 15) & ~15;
            q = chunkSteps(pp, np);
            chunks = (len + q - 1) / q;
            suffix = (q == 64 && dims.headDim() == 64 && dims.stateDim() == 128 ? "_q64p64n128" : "") + (bf16 ? "_tf32" : "");
            common = new Object[] {xBC, dims.convDim(), dtRaw, dtHalf ? 1 : 0, dtWidth, dtCol, dtBias, dtMin, dtMax, A, dims.headDim(), dims.nGroups(),
                    dims.nHeads() / dims.nGroups(), dims.stateDim(), len, q};
        }

        /** The longest chunk whose backward tiles fit a block. */
        private int chunkSteps(int pp, int np) {
            for (int steps = MAX_CHUNK; steps >= MIN_CHUNK; steps /= 2)
                if (backwardFloats(steps, pp, np) <= MAX_SHARED_FLOATS) return steps;
            throw new StatetuneException(String.format("the CUDA SSD backward does not fit a block's %,d bytes of shared memory at head size %d "
                    + "and state size %d", 4 * MAX_SHARED_FLOATS, dims.headDim(), dims.stateDim()));
        }

        /**
         * ssd_chunk_walk (reverse: from the last chunk, over dy and C; else over x and B) from h0 (0: zeros):
         * returns the states at the chunks' edges (b, chunks, di, n), and puts the state left at the end in
         * last (0: nowhere; reverse: adds to it). Blocks of 32 channels whose 8 warps hold the state (n ≤ 256);
         * shared: cum (doubles), dt; two buffers of V (q, 32) and U (q, np).
         */
        MemorySegment walk(boolean reverse, long dy, long h0, long last) {
            if (np > 256) throw new StatetuneException("the CUDA SSD takes state sizes up to 256, not " + dims.stateDim());
            MemorySegment edges = memory.scratch(4L * batch * chunks * dims.innerDim() * dims.stateDim());
            int shared = 3 * q + 2 * q * (stride(32) + stride(np));
            kernels.launch3d("ssd_chunk_walk" + suffix, dims.nHeads(), batch, pp / 32, FORWARD_BLOCK, 4 * shared,
                    with(reverse ? 1 : 0, dy, h0, edges.address(), last));
            return edges;
        }

        /** Shared floats of ssd_chunk_out: cum (doubles), dt; x; C; start (pp, np); the mask (q, q). */
        int outFloats() {
            return 3 * q + q * stride(pp) + q * stride(np) + pp * stride(np) + q * stride(q);
        }

        /** Each chunk's C·Bᵀ per group (b·chunks·nGroups, q, q), which its heads share (ssd_chunk_cb); release it when queued. */
        MemorySegment products() {
            MemorySegment cb = memory.scratch(4L * batch * chunks * dims.nGroups() * q * q);
            launchOver(dims.nGroups(), "ssd_chunk_cb", FORWARD_BLOCK, 2 * q * stride(np), cb.address());
            return cb;
        }

        int backwardFloats() {
            return backwardFloats(q, pp, np);
        }

        /** Shared floats of ssd_chunk_backward: cum (doubles); block sums; five step vectors; x, dy; B, C; a state; four masks. */
        private static int backwardFloats(int q, int pp, int np) {
            return 2 * q + 32 + 5 * q + 2 * q * stride(pp) + 2 * q * stride(np) + pp * stride(np) + 4 * q * stride(q);
        }

        /** The floats between the rows of a tile `cols` wide: ≡ 12 (mod 32), as ssd_stride, against bank conflicts. */
        private static int stride(int cols) {
            return cols + Math.floorMod(12 - cols, 32);
        }

        /**
         * Launches kernel `name`, a block of `threads` per head, with `sharedFloats` of shared memory on
         * the common arguments, then `more`.
         */
        void launch(String name, int threads, int sharedFloats, Object... more) {
            launchOver(dims.nHeads(), name, threads, sharedFloats, more);
        }

        /** As above with `blocks` along x (heads, or groups). */
        void launchOver(int blocks, String name, int threads, int sharedFloats, Object... more) {
            kernels.launch3d(name + suffix, blocks, batch, chunks, threads, 4 * sharedFloats, with(more));
        }

        /** The common arguments, then `more`. */
        private Object[] with(Object... more) {
            Object[] all = java.util.Arrays.copyOf(common, common.length + more.length);
            System.arraycopy(more, 0, all, common.length, more.length);
            return all;
        }
    }

    /**
     * gatedRmsNorm over rows of y (rows, w), the gate z (rows, zWidth; bf16 with zHalf) at column zCol; a bf16 copy of out to
     * out16 (0: none).
     */
    void gatedRmsNorm(int rows, int w, long y, long z, boolean zHalf, int zWidth, int zCol, long weight, int groupSize, float eps, long out,
                      long out16) {
        kernels.launch("gated_rms_norm", rows, groups(w, groupSize), BLOCK, y, z, zHalf ? 1 : 0, zWidth, zCol, weight, w, groupSize, eps, out, out16);
    }

    /** gatedRmsNormBackward; dy, dz (laid out as z, of its type) and dWeight may be 0. */
    void gatedRmsNormBackward(int rows, int w, long y, long z, boolean zHalf, int zWidth, int zCol, long weight, int groupSize, float eps, long dOut,
                              long dy, long dz, long dWeight) {
        int blocks = dWeight == 0 ? rows : Math.min(rows, NORM_ROW_BLOCKS);   // a block a row, unless they share dWeight's partial sums
        MemorySegment partials = dWeight == 0 ? null : memory.scratch(4L * blocks * w);   // (blocks, w) dWeight per block of rows
        kernels.launch("gated_rms_norm_backward", blocks, groups(w, groupSize), BLOCK, y, z, zHalf ? 1 : 0, zWidth, zCol, weight, w, groupSize, eps,
                rows, dOut, dy, dz, partials == null ? 0L : partials.address());
        if (partials == null) return;
        sumPartials(partials, blocks, 1, w, dWeight, w, 0);
        memory.release(partials);
    }

    private static int groups(int w, int groupSize) {
        if (groupSize <= 0 || w % groupSize != 0) throw new IllegalArgumentException("gated norm: width " + w + " in groups of " + groupSize);
        return w / groupSize;
    }

    /** dst[row, col + j] += Σ_q partials[q, row, j] for partials (blocks, rows, width), dst rows dstWidth wide. */
    private void sumPartials(MemorySegment partials, int blocks, long rows, int width, long dst, int dstWidth, int col) {
        kernels.launch("scan_sum_partials", Math.toIntExact((rows * width + BLOCK - 1) / BLOCK), 1, BLOCK, partials.address(), blocks, rows,
                width, dst, dstWidth, col);
    }
}
