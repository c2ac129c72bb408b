package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.lang.foreign.MemorySegment;

/**
 * The Mamba-1 selective scan of CudaBackend, forward and backward (kernels in
 * resources/dev/statetune/cuda/kernels.cu): a block walks its channels of one sequence through time
 * in chunks of CHUNK steps, staging the next chunk while it computes the current one. The forward
 * keeps the state entering each chunk (the memo); the backward walks the chunks in reverse,
 * recomputing each chunk's states from there. CudaBackend resolves tensors to device addresses (0
 * for null) and passes the widths of the matrices read by column.
 */
final class CudaScan {
    private static final int BLOCK = 128;

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
     * How the kernels cut the work for A (di, n): CudaScan.lanes(n) threads per channel, `perBlock`
     * channels a block, `grid` blocks a sequence; the variant's suffix names its S, L and z's type.
     */
    private static final class Shape {
        final int lanes, paddedStates, perBlock, grid;
        final String variant;

        Shape(int di, int n, boolean zInBf16) {
            lanes = lanes(n);
            paddedStates = lanes * statesPerLane(n);
            variant = variant(n) + (zInBf16 ? "_zbf16" : "");
            perBlock = BLOCK / lanes;
            grid = (di + perBlock - 1) / perBlock;
        }

        /** Bytes of scan_forward's shared memory: two buffers of dt, x, z tiles and a B|C tile. */
        int forwardShared() {
            return 4 * 2 * CHUNK * (3 * perBlock + 2 * paddedStates);
        }

        /**
         * Bytes of scan_backward's shared memory: two buffers of dt, slope, x, z, dy tiles, a B|C tile and the start
         * states; then the dx, ddt, dz tiles and each warp's dB|dC tile.
         */
        int backwardShared() {
            int buffer = 5 * CHUNK * perBlock + CHUNK * 2 * paddedStates + perBlock * paddedStates;
            return 4 * (2 * buffer + 3 * CHUNK * perBlock + BLOCK / 32 * CHUNK * 2 * paddedStates);
        }
    }

    /** Floats of a training forward's memo for its backward: the state entering each chunk, (b, chunks, di, n). */
    static long memoFloats(int batch, int len, int di, int n) {
        return (long) batch * ((len + CHUNK - 1) / CHUNK) * di * n;
    }

    /**
     * selectiveScan: y and the state (b, di, n), read as h_0 and written back as h_len; the chunk
     * states go to memo too (0: nowhere; memoFloats floats). A decode step (len 1, no memo, n = 4 … 128 in fours)
     * takes scan_step.
     *
     * @param bc  (b·len, bcWidth) with B at [bCol, bCol+n), C at [bCol+n, bCol+2n); z (b·len, zWidth) gate at [zCol, zCol+di),
     *            in bf16 when zInBf16 (the _zbf16 kernels)
     * @param y16 where a bf16 copy of y goes too, or 0
     */
    void forward(int di, int n, int batch, int len, long x, long dt, long A, long bc, int bcWidth, int bCol, long D, boolean zInBf16, long z,
                 int zWidth, int zCol, long state, long hOffset, long yOffset, long y, long y16, long memo) {
        if (len == 1 && memo == 0 && y != 0 && !zInBf16 && takesSteps(n)) {   // a decode step
            step(di, n, batch, x, dt, 0L, 0, 0L, false, 0L, 0, A, bc, bcWidth, bCol, D, z, zWidth, zCol, state, hOffset, yOffset, y, y16);
            return;
        }
        Shape sh = new Shape(di, n, zInBf16);
        kernels.launchShared("scan_forward" + sh.variant, sh.grid, batch, BLOCK, sh.forwardShared(), x, dt, A, bc, bcWidth, bCol, D, z,
                zWidth, zCol, len, di, n, state, state, hOffset, yOffset, y, y16, memo);
    }

    /** Whether scan_step takes one-token steps of state size n: four states a lane, n/4 lanes a power of two ≤ 32. */
    static boolean takesSteps(int n) {
        int lanes = n / 4;
        return n % 4 == 0 && Integer.bitCount(lanes) == 1 && lanes <= 32;
    }

    /**
     * A one-token step (takesSteps(n), z in float32) with dt (b, di) given, or, with w (di, r) non-zero
     * (in bf16 when wInBf16), dt = dtIn[:, 0:r] · wᵀ + bias (bias may be 0) computed in the kernel.
     */
    void step(int di, int n, int batch, long x, long dt, long dtIn, int dtInWidth, long w, boolean wInBf16, long bias, int r, long A, long bc,
              int bcWidth, int bCol, long D, long z, int zWidth, int zCol, long state, long hOffset, long yOffset, long y, long y16) {
        int lanes = n / 4, perBlock = BLOCK / lanes;
        kernels.launch("scan_step_l" + lanes + (wInBf16 ? "_wbf16" : ""), (di + perBlock - 1) / perBlock, batch, BLOCK, x, dt, dtIn, dtInWidth,
                w, bias, r, A, bc, bcWidth, bCol, D, z, zWidth, zCol, di, n, state, hOffset, yOffset, y, y16);
    }

    /**
     * selectiveScanBackward from h0 (b, di, n) (0: zeros) and dy (b·len, di): gradients accumulate
     * into dx, ddt (b·len, di), dbc (B and C columns as bc's), dz (gate columns as z's) and, where
     * non-zero, dA (di, n), dD (di), dh0, dhOffset (di, n), dyOffset (di). memo: the forward's (0: recomputed here).
     */
    void backward(int di, int n, int batch, int len, long x, long dt, long A, long bc, int bcWidth, int bCol, long D, boolean zInBf16, long z,
                  int zWidth, int zCol, long h0, long hOffset, long yOffset, long dy, long dx, long ddt, long dbc, int dbcWidth, long dz, long dA,
                  long dD, long dh0, long dhOffset, long dyOffset, long memo) {
        Shape sh = new Shape(di, n, zInBf16);
        long rows = (long) batch * len;
        MemorySegment recomputed = memo != 0 ? null : memory.scratch(4 * memoFloats(batch, len, di, n));
        if (recomputed != null)   // the states entering each chunk, without y
            kernels.launchShared("scan_forward" + sh.variant, sh.grid, batch, BLOCK, sh.forwardShared(), x, dt, A, bc, bcWidth, bCol, D, z,
                    zWidth, zCol, len, di, n, h0, 0L, hOffset, yOffset, 0L, 0L, recomputed.address());
        MemorySegment partials = memory.scratch(4L * sh.grid * rows * 2 * n);   // (blocks, b·len, 2n) dB | dC per block
        kernels.launchShared("scan_backward" + sh.variant, sh.grid, batch, BLOCK, sh.backwardShared(), x, dt, A, bc, bcWidth, bCol,
                D, z, zWidth, zCol, len, di, n, recomputed != null ? recomputed.address() : memo, hOffset, yOffset, dy,
                dx, ddt, partials.address(), dz, dA, dD, dh0, dhOffset, dyOffset);
        kernels.launch("scan_sum_partials", (int) ((rows * 2 * n + 255) / 256), 1, 256, partials.address(), sh.grid, rows, 2 * n, dbc,
                dbcWidth, bCol);
        memory.release(partials);
        if (recomputed != null) memory.release(recomputed);
    }
}
