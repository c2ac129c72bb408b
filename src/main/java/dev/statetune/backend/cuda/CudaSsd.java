package dev.statetune.backend.cuda;

import dev.statetune.backend.SsdDims;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-2 ops of CudaBackend (ssdScan, gatedRmsNorm and their backwards; kernels in
 * resources/dev/statetune/cuda/mamba2.cu): launch shapes and scratch buffers. CudaBackend resolves
 * the tensors to device addresses (0 for null) and passes widths of the matrices read by column.
 */
final class CudaSsd {
    private static final int BLOCK = 256, SCAN_BLOCK = 128, BACKWARD_BLOCK = 256, NORM_ROW_BLOCKS = 128;

    private final Kernels kernels;
    private final DeviceMemory memory;

    CudaSsd(Kernels kernels, DeviceMemory memory) {
        this.kernels = kernels;
        this.memory = memory;
    }

    /** ssdScan; lanes: threads sharing one channel's stateDim states (a power of two ≤ 32). */
    void scan(SsdDims dims, int lanes, int batch, int len, long xBC, long dtRaw, int dtWidth, int dtCol, long dtBias, float dtMin,
              float dtMax, long A, long D, long state, long hOffset, long yOffset, long y) {
        int di = dims.innerDim(), perBlock = SCAN_BLOCK / lanes;
        kernels.launch("ssd_scan", (di + perBlock - 1) / perBlock, batch, SCAN_BLOCK, xBC, dims.convDim(), dtRaw, dtWidth, dtCol, dtBias,
                dtMin, dtMax, A, D, dims.headDim(), dims.nGroups(), dims.nHeads() / dims.nGroups(), dims.stateDim(), di, len, lanes,
                state, hOffset, yOffset, y);
    }

    /**
     * ssdScanBackward (dxBC and dDtRaw required, the rest may be 0). Scratch: the state entering each
     * chunk (b, chunks, di, n), one chunk's states (b, chunk, di, n), and the per-block partial sums
     * of dB | dC and of ∂L/∂dtRaw that scan_sum_partials adds into dxBC and dDtRaw.
     */
    void scanBackward(SsdDims dims, int lanes, int batch, int len, long xBC, long dtRaw, int dtWidth, int dtCol, long dtBias,
                      float dtMin, float dtMax, long A, long D, long h0, long hOffset, long dy, long dxBC, long dDtRaw, int dDtWidth,
                      long dDtBias, long dA, long dD, long dh0, long dhOffset, long dyOffset) {
        int nh = dims.nHeads(), p = dims.headDim(), n = dims.stateDim(), ng = dims.nGroups(), di = dims.innerDim();
        int perBlock = BACKWARD_BLOCK / lanes, blocksPerHead = (p + perBlock - 1) / perBlock, parts = nh / ng * blocksPerHead;
        int chunk = Math.min(dims.chunkSize(), len), chunks = (len + chunk - 1) / chunk;
        long rows = (long) batch * len, bcWidth = 2L * ng * n;
        MemorySegment bounds = memory.scratch(4L * batch * chunks * di * n), hist = memory.scratch(4L * batch * chunk * di * n);
        MemorySegment bcPartials = memory.scratch(4L * parts * rows * bcWidth), dtPartials = memory.scratch(4L * blocksPerHead * rows * nh);
        kernels.launchShared("ssd_scan_backward", nh * blocksPerHead, batch, BACKWARD_BLOCK, 4 * perBlock * (2 * n + 1), xBC,
                dims.convDim(), dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, D, p, ng, nh / ng, n, len, lanes, chunk, h0,
                bounds.address(), hist.address(), hOffset, dy, dxBC, bcPartials.address(), dtPartials.address(), dDtBias, dA, dD,
                dh0, dhOffset, dyOffset);
        sumPartials(bcPartials, parts, rows, (int) bcWidth, dxBC, dims.convDim(), di);
        sumPartials(dtPartials, blocksPerHead, rows, nh, dDtRaw, dDtWidth, dtCol);
        for (MemorySegment m : new MemorySegment[] {bounds, hist, bcPartials, dtPartials}) memory.release(m);
    }

    /** gatedRmsNorm over rows of y (rows, w), the gate z (rows, zWidth) at column zCol. */
    void gatedRmsNorm(int rows, int w, long y, long z, int zWidth, int zCol, long weight, int groupSize, float eps, long out) {
        kernels.launch("gated_rms_norm", rows, groups(w, groupSize), BLOCK, y, z, zWidth, zCol, weight, w, groupSize, eps, out);
    }

    /** gatedRmsNormBackward; dy, dz (laid out as z) and dWeight may be 0. */
    void gatedRmsNormBackward(int rows, int w, long y, long z, int zWidth, int zCol, long weight, int groupSize, float eps, long dOut,
                              long dy, long dz, long dWeight) {
        int blocks = Math.min(rows, NORM_ROW_BLOCKS);
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
