package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-1 selective scan of CudaBackend, forward and backward (kernels in
 * resources/dev/statetune/cuda/kernels.cu): a short sequence in one pass, a long one chunked over
 * time — each chunk from a zero state, a carry over the chunks, then each chunk from its true
 * start — and the backward as the same in reverse. CudaBackend resolves tensors to device
 * addresses (0 for null) and passes the widths of the matrices read by column.
 */
final class CudaScan {
    private static final int BLOCK = 128, CARRY_BLOCK = 256;

    private final Kernels kernels;
    private final DeviceMemory memory;

    CudaScan(Kernels kernels, DeviceMemory memory) {
        this.kernels = kernels;
        this.memory = memory;
    }

    /** The steps of a chunk (SCAN_CHUNK in kernels.cu). */
    static final int CHUNK = 16;

    /**
     * Threads that share one channel's n states: a power of two, at most 32, each lane holding about
     * 4 states (≤ 8), so that a lane has independent work at each step and the warp many channels.
     */
    static int lanes(int n) {
        int lanes = Math.min(32, Integer.highestOneBit(Math.max(1, (n + 3) / 4 - 1)) << 1);
        if (n > 8 * lanes) throw new StatetuneException("the CUDA scan takes state sizes up to 256, not " + n);
        return lanes;
    }

    /** The states each of a channel's lanes(n) lanes holds: the smallest power of two S with lanes·S ≥ n. */
    static int statesPerLane(int n) {
        int lanes = lanes(n), s = 1;
        while (lanes * s < n) s <<= 1;
        return s;
    }

    /** The suffix _sSlL of a scan kernel's variant for state size n (kernels.cu's SCAN_SL_VARIANTS). */
    static String variant(int n) {
        return "_s" + statesPerLane(n) + "l" + lanes(n);
    }

    /**
     * How the kernels cut the work for A (di, n): `lanes` threads per channel holding `states` each,
     * `perBlock` channels in a block of 128, `grid` blocks per sequence, and the kernels' suffix
     * _sSlL (kernels.cu's SCAN_SL_VARIANTS).
     */
    private static final class Shape {
        final int di, n, lanes, states, perBlock, grid;
        final String variant;

        Shape(int di, int n) {
            this.di = di;
            this.n = n;
            lanes = lanes(n);
            states = statesPerLane(n);
            variant = variant(n);
            perBlock = BLOCK / lanes;
            grid = (di + perBlock - 1) / perBlock;
        }

        /** Blocks of the carry kernels: one thread per (channel, state). */
        int carryGrid() {
            return Math.toIntExact(((long) di * n + CARRY_BLOCK - 1) / CARRY_BLOCK);
        }

        /** Bytes of a chunk's staged tiles: `channels` per-channel rows and `stateWidths` state rows (padded to lanes·states) per step. */
        int tileBytes(int channels, int stateWidths) {
            return 4 * CHUNK * (channels * perBlock + stateWidths * lanes * states);
        }
    }

    /**
     * The state entering each chunk (start), each chunk's Σ dt, and each chunk's end state from zero
     * (hloc; null when read from a memo). `scratch`: whether they are the allocator's to take back.
     */
    private record ChunkStates(int count, MemorySegment start, MemorySegment dtsum, MemorySegment hloc, boolean scratch) {}

    /**
     * Floats of a training forward's memo for its backward: start (b, chunks, di, n) then dtsum (b,
     * chunks, di), which spare the backward passes 1 and 2; 0 for a sequence of one chunk.
     */
    static long memoFloats(int batch, int len, int di, int n) {
        long chunks = (len + CHUNK - 1) / CHUNK;
        return chunks <= 1 ? 0 : (long) batch * chunks * di * (n + 1);
    }

    /** The start and dtsum a memo (see memoFloats) holds. */
    private static ChunkStates fromMemo(long memo, int batch, int len, int di, int n) {
        int count = (len + CHUNK - 1) / CHUNK;
        long states = (long) batch * count * di;
        return new ChunkStates(count, MemorySegment.ofAddress(memo).reinterpret(4 * states * n),
                MemorySegment.ofAddress(memo + 4 * states * n).reinterpret(4 * states), null, false);
    }

    /**
     * selectiveScan: y and the state (b, di, n), read as h_0 and written back as h_len; the chunk
     * states go to memo too (0: nowhere; memoFloats floats).
     *
     * @param bc (b·len, bcWidth) with B at [bCol, bCol+n), C at [bCol+n, bCol+2n); z (b·len, zWidth) gate at [zCol, zCol+di)
     */
    void forward(int di, int n, int batch, int len, long x, long dt, long A, long bc, int bcWidth, int bCol, long D, long z, int zWidth,
                 int zCol, long state, long hOffset, long yOffset, long y, long memo) {
        Shape sh = new Shape(di, n);
        if (len <= CHUNK) {   // a decode step or a short prompt: one pass
            kernels.launch("selective_scan" + sh.variant, sh.grid, batch, BLOCK, x, dt, A, bc, bcWidth, bCol, D, z, zWidth, zCol, len, di, n,
                    state, hOffset, yOffset, y);
            return;
        }
        ChunkStates chunks = chunkStates(sh, batch, len, x, dt, A, bc, bcWidth, bCol, state, state, memo);
        kernels.launch3d("scan_chunk_out" + sh.variant, sh.grid, batch, chunks.count, BLOCK, sh.tileBytes(3, 2), x, dt, A, bc, bcWidth, bCol,
                D, z, zWidth, zCol, len, di, n, chunks.start.address(), hOffset, yOffset, y);
        release(chunks);
    }

    /**
     * selectiveScanBackward from h0 (b, di, n) (0: zeros) and dy (b·len, di): gradients accumulate
     * into dx, ddt (b·len, di), dbc (B and C columns as bc's), dz (gate columns as z's) and, where
     * non-zero, dA (di, n), dD (di), dh0, dhOffset (di, n), dyOffset (di). memo: the forward's (0: recomputed here).
     */
    void backward(int di, int n, int batch, int len, long x, long dt, long A, long bc, int bcWidth, int bCol, long D, long z, int zWidth,
                  int zCol, long h0, long hOffset, long yOffset, long dy, long dx, long ddt, long dbc, int dbcWidth, long dz, long dA,
                  long dD, long dh0, long dhOffset, long dyOffset, long memo) {
        Shape sh = new Shape(di, n);
        long rows = (long) batch * len;
        ChunkStates chunks = memo != 0 ? fromMemo(memo, batch, len, di, n)                        // the state entering each chunk
                : chunkStates(sh, batch, len, x, dt, A, bc, bcWidth, bCol, h0, 0L, 0L);
        long states = (long) batch * chunks.count * di * n;
        MemorySegment outloc = memory.scratch(4 * states), carryIn = memory.scratch(4 * states);
        // The reverse carry: what each chunk alone passes back, then what enters each chunk from the one after it.
        kernels.launch3d("scan_chunk_back_local" + sh.variant, sh.grid, batch, chunks.count, BLOCK, sh.tileBytes(3, 1), dt, A, bc, bcWidth,
                bCol, z, zWidth, zCol, dy, len, di, n, outloc.address());
        kernels.launch("scan_chunk_back_carry", sh.carryGrid(), batch, CARRY_BLOCK, A, di, n, chunks.count, outloc.address(),
                chunks.dtsum.address(), carryIn.address(), dh0);
        MemorySegment partials = memory.scratch(4L * sh.grid * rows * 2 * n);   // (blocks, b·len, 2n) dB | dC per block
        int shared = sh.tileBytes(4, 2) + 4 * BLOCK / 32 * CHUNK * 2 * sh.lanes * sh.states;   // + the warps' dB|dC tiles
        kernels.launch3d("scan_chunk_backward" + sh.variant, sh.grid, batch, chunks.count, BLOCK, shared, x, dt, A, bc, bcWidth, bCol,
                D, z, zWidth, zCol, len, di, n, chunks.start.address(), carryIn.address(), hOffset, yOffset, dy,
                dx, ddt, partials.address(), dz, dA, dD, dhOffset, dyOffset);
        kernels.launch("scan_sum_partials", (int) ((rows * 2 * n + 255) / 256), 1, 256, partials.address(), sh.grid, rows, 2 * n, dbc,
                dbcWidth, bCol);
        release(chunks);
        for (MemorySegment m : new MemorySegment[] {outloc, carryIn, partials}) memory.release(m);
    }

    /**
     * Passes 1 and 2 of the chunked scan from h0 (0: zeros); the final state goes to hEnd (0: nowhere),
     * start and dtsum into memo (0: scratch blocks).
     */
    private ChunkStates chunkStates(Shape sh, int batch, int len, long x, long dt, long A, long bc, int bcWidth, int bCol, long h0, long hEnd,
                                    long memo) {
        int count = (len + CHUNK - 1) / CHUNK;
        long states = (long) batch * count * sh.di;
        ChunkStates kept = memo != 0 ? fromMemo(memo, batch, len, sh.di, sh.n) : null;
        ChunkStates c = new ChunkStates(count, kept != null ? kept.start : memory.scratch(4 * states * sh.n),
                kept != null ? kept.dtsum : memory.scratch(4 * states), memory.scratch(4 * states * sh.n), kept == null);
        kernels.launch3d("scan_chunk_local" + sh.variant, sh.grid, batch, count, BLOCK, sh.tileBytes(2, 1), x, dt, A, bc, bcWidth, bCol,
                len, sh.di, sh.n, c.hloc.address(), c.dtsum.address());
        kernels.launch("scan_chunk_carry", sh.carryGrid(), batch, CARRY_BLOCK, A, sh.di, sh.n, count, h0, c.hloc.address(),
                c.dtsum.address(), c.start.address(), hEnd);
        return c;
    }

    private void release(ChunkStates c) {
        if (c.hloc != null) memory.release(c.hloc);
        if (!c.scratch) return;
        memory.release(c.start);
        memory.release(c.dtsum);
    }
}
