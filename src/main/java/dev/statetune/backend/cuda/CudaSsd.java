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
    private static final int BLOCK = 256, SCAN_BLOCK = 128, BACKWARD_BLOCK = 256, NORM_ROW_BLOCKS = 1024;
    /** Threads of the chunked passes that stage B and C once for all their channels (16 at state 128). */
    private static final int CHUNK_BLOCK = 512;
    /** The chunked scan's longest chunk, and the floats of shared memory a block's tiles may take (48 KB). */
    private static final int MAX_CHUNK = 32, SHARED_FLOATS = 12288;
    /** The steps of a chunk in the backward (SSD_CHUNK in mamba2.cu: its block keeps a chunk's states in registers). */
    private static final int BACKWARD_CHUNK = 16;
    /** The most shared memory a block may ask for on sm_80 and sm_90 GPUs (227 KB). */
    private static final int MAX_SHARED_FLOATS = 227 * 256;

    private final Kernels kernels;
    private final DeviceMemory memory;

    CudaSsd(Kernels kernels, DeviceMemory memory) {
        this.kernels = kernels;
        this.memory = memory;
    }

    /**
     * ssdScan, with CudaScan.lanes(stateDim) threads sharing one channel's states. A sequence no
     * longer than one chunk (a decode step, a short prompt) takes the one-pass ssd_scan; a longer
     * one the chunked passes: each chunk from a zero state, the carry over the chunks into state, each
     * chunk again from its start state giving y.
     */
    void scan(SsdDims dims, int batch, int len, long xBC, long dtRaw, int dtWidth, int dtCol, long dtBias, float dtMin,
              float dtMax, long A, long D, long state, long hOffset, long yOffset, long y) {
        int di = dims.innerDim(), n = dims.stateDim(), lanes = CudaScan.lanes(n), perBlock = SCAN_BLOCK / lanes;
        int chunkPerBlock = CHUNK_BLOCK / lanes, np = lanes * CudaScan.statesPerLane(n);   // np: the state tiles' padded width
        int chunkLen = Math.max(1, Math.min(MAX_CHUNK, SHARED_FLOATS / (2 + chunkPerBlock + 2 * np)));
        if (len <= chunkLen) {
            kernels.launch("ssd_scan" + CudaScan.variant(n), (di + perBlock - 1) / perBlock, batch, SCAN_BLOCK, xBC, dims.convDim(), dtRaw,
                    dtWidth, dtCol, dtBias, dtMin, dtMax, A, D, dims.headDim(), dims.nGroups(), dims.nHeads() / dims.nGroups(), n, di, len,
                    state, hOffset, yOffset, y);
            return;
        }
        Chunked c = new Chunked(dims, batch, len, chunkLen, xBC, dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A);
        ChunkStates states = chunkStates(c, state, state);
        kernels.launch3d("ssd_chunk_out" + c.variant, c.grid(CHUNK_BLOCK), batch, c.chunks, CHUNK_BLOCK,
                4 * chunkLen * (2 + chunkPerBlock + 2 * np), c.args(D, states.start.address(), hOffset, yOffset, y));
        states.release(memory);
    }

    /**
     * ssdScanBackward (dxBC and dDtRaw required, the rest may be 0), chunked in BACKWARD_CHUNK steps:
     * the state entering each chunk (as scan), each chunk's reverse carry from zero, the carry over
     * the chunks, then every gradient of one head and chunk per block. Scratch beyond the chunk
     * states: the carries, and each head's dB | dC that scan_sum_partials adds into dxBC.
     */
    void scanBackward(SsdDims dims, int batch, int len, long xBC, long dtRaw, int dtWidth, int dtCol, long dtBias,
                      float dtMin, float dtMax, long A, long D, long h0, long hOffset, long dy, long dxBC, long dDtRaw, int dDtWidth,
                      long dDtBias, long dA, long dD, long dh0, long dhOffset, long dyOffset) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), ng = dims.nGroups(), di = dims.innerDim();
        Chunked c = new Chunked(dims, batch, len, BACKWARD_CHUNK, xBC, dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A);
        ChunkStates states = chunkStates(c, h0, 0L);
        long rows = (long) batch * len, bcWidth = 2L * ng * n, stateFloats = (long) batch * c.chunks * di * n;
        MemorySegment outloc = memory.scratch(4 * stateFloats), carryIn = memory.scratch(4 * stateFloats);
        kernels.launch3d("ssd_chunk_back_local" + c.variant, c.grid(CHUNK_BLOCK), batch, c.chunks, CHUNK_BLOCK,
                4 * BACKWARD_CHUNK * (2 + CHUNK_BLOCK / c.lanes + c.np()), c.args(dy, outloc.address()));
        kernels.launch("ssd_chunk_back_carry", carryGrid(di, n), batch, BLOCK, p, nh, n, c.chunks, outloc.address(),
                states.decayProd.address(), carryIn.address(), dh0);
        int shared = BACKWARD_CHUNK * (4 + 2 * p + 4 * c.np());   // above 48 KB, Kernels asks the driver for it
        if (shared > MAX_SHARED_FLOATS)
            throw new StatetuneException(String.format("the CUDA SSD backward would need %,d bytes of shared memory at head size %d and "
                    + "state size %d; a block has at most %,d", 4 * shared, p, n, 4 * MAX_SHARED_FLOATS));
        MemorySegment bcPartials = memory.scratch(4L * (nh / ng) * rows * bcWidth);
        kernels.launch3d("ssd_chunk_backward" + c.variant, nh, batch, c.chunks, BACKWARD_BLOCK, 4 * shared,
                xBC, dims.convDim(), dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, p, ng, nh / ng, n, len, D,
                states.start.address(), carryIn.address(), hOffset, dy, dxBC, dDtRaw, dDtWidth, bcPartials.address(), dDtBias, dA, dD,
                dhOffset, dyOffset);
        sumPartials(bcPartials, nh / ng, rows, (int) bcWidth, dxBC, dims.convDim(), di);
        states.release(memory);
        for (MemorySegment m : new MemorySegment[] {outloc, carryIn, bcPartials}) memory.release(m);
    }

    /** The chunked kernels' common arguments and shape: `variant` their suffix (_sSlL), `chunks` of chunkLen steps. */
    private record Chunked(SsdDims dims, int lanes, int batch, int len, int chunkLen, int chunks, String variant, Object[] common) {
        Chunked(SsdDims dims, int batch, int len, int chunkLen, long xBC, long dtRaw, int dtWidth, int dtCol, long dtBias,
                float dtMin, float dtMax, long A) {
            this(dims, CudaScan.lanes(dims.stateDim()), batch, len, chunkLen, (len + chunkLen - 1) / chunkLen, CudaScan.variant(dims.stateDim()),
                    new Object[] {xBC, dims.convDim(), dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, dims.headDim(), dims.nGroups(),
                            dims.nHeads() / dims.nGroups(), dims.stateDim(), len, chunkLen});
        }

        /** The state tiles' padded width: lanes × states per lane. */
        int np() {
            return lanes * CudaScan.statesPerLane(dims.stateDim());
        }

        /** Blocks along x for blocks of `block` threads: each holds channels of one head. */
        int grid(int block) {
            int perBlock = block / lanes;
            return dims.nHeads() * ((dims.headDim() + perBlock - 1) / perBlock);
        }

        /** The common arguments, then `more`. */
        Object[] args(Object... more) {
            Object[] all = java.util.Arrays.copyOf(common, common.length + more.length);
            System.arraycopy(more, 0, all, common.length, more.length);
            return all;
        }
    }

    /** The state entering each chunk (b, chunks, di, n), and each chunk's decay product (b, chunks, nHeads). */
    private record ChunkStates(MemorySegment start, MemorySegment decayProd) {
        void release(DeviceMemory memory) {
            memory.release(start);
            memory.release(decayProd);
        }
    }

    /** Passes 1 and 2 of the chunked scan from h0 (0: zeros); the final state goes to hEnd (0: nowhere; may be h0). */
    private ChunkStates chunkStates(Chunked c, long h0, long hEnd) {
        int di = c.dims.innerDim(), n = c.dims.stateDim(), nh = c.dims.nHeads(), perBlock = CHUNK_BLOCK / c.lanes;
        long stateFloats = (long) c.batch * c.chunks * di * n;
        MemorySegment hloc = memory.scratch(4 * stateFloats);
        ChunkStates states = new ChunkStates(memory.scratch(4 * stateFloats), memory.scratch(4L * c.batch * c.chunks * nh));
        kernels.launch3d("ssd_chunk_local" + c.variant, c.grid(CHUNK_BLOCK), c.batch, c.chunks, CHUNK_BLOCK,
                4 * c.chunkLen * (2 + perBlock + c.np()), c.args(hloc.address(), states.decayProd.address()));
        kernels.launch("ssd_chunk_carry", carryGrid(di, n), c.batch, BLOCK, c.dims.headDim(), nh, n, c.chunks, h0, hloc.address(),
                states.decayProd.address(), states.start.address(), hEnd);
        memory.release(hloc);
        return states;
    }

    private static int carryGrid(int di, int n) {
        return Math.toIntExact(((long) di * n + BLOCK - 1) / BLOCK);
    }

    /** gatedRmsNorm over rows of y (rows, w), the gate z (rows, zWidth) at column zCol. */
    void gatedRmsNorm(int rows, int w, long y, long z, int zWidth, int zCol, long weight, int groupSize, float eps, long out) {
        kernels.launch("gated_rms_norm", rows, groups(w, groupSize), BLOCK, y, z, zWidth, zCol, weight, w, groupSize, eps, out);
    }

    /** gatedRmsNormBackward; dy, dz (laid out as z) and dWeight may be 0. */
    void gatedRmsNormBackward(int rows, int w, long y, long z, int zWidth, int zCol, long weight, int groupSize, float eps, long dOut,
                              long dy, long dz, long dWeight) {
        int blocks = dWeight == 0 ? rows : Math.min(rows, NORM_ROW_BLOCKS);   // a block a row, unless they share dWeight's partial sums
        MemorySegment partials = dWeight == 0 ? null : memory.scratch(4L * blocks * w);   // (blocks, w) dWeight per block of rows
        kernels.launch("gated_rms_norm_backward", blocks, groups(w, groupSize), BLOCK, y, z, zWidth, zCol, weight, w, groupSize, eps,
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
