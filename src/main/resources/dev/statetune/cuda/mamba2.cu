// statetune's CUDA kernels for Mamba-2 (the Backend ops ssdScan, gatedRmsNorm and their backwards),
// compiled by NVRTC as one unit after kernels.cu (Kernels concatenates them: names are shared, so
// these start with ssd_ / gated_). Layouts as in backend/Backend.java: xBC (b·len, convDim) holds
// x (nHeads × headDim) | B (nGroups × n) | C (nGroups × n); head h reads group h / headsPerGroup.

extern "C" {

__device__ __forceinline__ float ssd_sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

// torch's softplus (threshold 20), as CpuMath.softplus.
__device__ __forceinline__ float ssd_softplus(float v) { return v > 20.f ? v : log1pf(expf(v)); }

// The sum of v over the block (blockDim.x a multiple of 32), returned to every thread: shuffles within
// each warp, then the warps' sums in order (the same result on every thread); sm holds 32 floats.
__device__ float ssd_block_sum(float v, float* sm) {
    for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffff, v, m);
    if (threadIdx.x % 32 == 0) sm[threadIdx.x / 32] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < blockDim.x / 32; w++) total += sm[w];
    __syncthreads();   // sm is free for the next sum
    return total;
}

// ssdScan as the recurrence it equals (PAPER_NOTES' Mamba-2 analogue, with the State-offset seams):
//   dt_t = clamp(softplus(dtRaw_t + dtBias_h), dtMin, dtMax);  h_t = exp(dt_t·A_h)·h_{t−1} + dt_t·x_t B_tᵀ;
//   y_t = (h_t + h′)·C_t + D_h·x_t + y′.
// As kernels.cu's scans, a template on S and L: L lanes share the n states of one channel
// c = h·headDim + i (lane, lane+L, …), S each; C·h is summed with warp shuffles; sequential over
// time. block SCAN_BLOCK = SCAN_BLOCK/L channels; grid (ceil(di / (SCAN_BLOCK/L)), b). state (b,
// nHeads, headDim, n) is read as h_0 and written back as h_len; hOffset (nHeads, headDim, n) and
// yOffset (nHeads, headDim) may be null.
}  // extern "C"
template <int S, int L> __device__ void ssd_scan_impl(const float* xBC, int conv, const void* dtRaw, int dtHalf, int dtWidth, int dtCol,
                                                      const float* dtBias, float dtMin, float dtMax, const float* A, const float* D,
                                                      int headDim, int nGroups, int headsPerGroup, int n, int di, int len, float* state,
                                                      const float* hOffset, const float* yOffset, float* y) {
    int lane = threadIdx.x % L;
    int c = blockIdx.x * (SCAN_BLOCK / L) + threadIdx.x / L, s = blockIdx.y;
    bool valid = c < di;
    int cc = valid ? c : 0, h = cc / headDim, g = h / headsPerGroup;
    float st[S], off[S];
    float* hs = state + ((long long) s * di + cc) * n;
    #pragma unroll
    for (int j = 0; j < S; j++) {
        int k = lane + j * L;
        st[j] = k < n ? hs[k] : 0.f;
        off[j] = k < n && hOffset ? hOffset[(long long) cc * n + k] : 0.f;
    }
    float a = A[h], d = D[h], bias = dtBias[h], yo = yOffset ? yOffset[cc] : 0.f;
    for (int t = 0; t < len; t++) {
        long long row = (long long) s * len + t;
        float dtv = fminf(fmaxf(ssd_softplus(load_either(dtRaw, dtHalf, row * dtWidth + dtCol + h) + bias), dtMin), dtMax);
        float xv = xBC[row * conv + cc], decay = expf(dtv * a), u = dtv * xv;
        const float* B = xBC + row * conv + di + g * n;
        const float* C = B + nGroups * n;
        float part = 0.f;
        #pragma unroll
        for (int j = 0; j < S; j++) {
            int k = lane + j * L;
            if (k < n) {
                st[j] = decay * st[j] + u * B[k];
                part += C[k] * (st[j] + off[j]);
            }
        }
        #pragma unroll
        for (int m = L / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, L);
        if (valid && lane == 0) y[row * di + cc] = part + d * xv + yo;
    }
    if (valid)
        #pragma unroll
        for (int j = 0; j < S; j++) {
            int k = lane + j * L;
            if (k < n) hs[k] = st[j];
        }
}
extern "C" {
SCAN_SL_VARIANTS(ssd_scan, SCAN_BLOCK, 1, (const float* xBC, int conv, const void* dtRaw, int dtHalf, int dtWidth, int dtCol, const float* dtBias, float dtMin, float dtMax, const float* A, const float* D, int headDim, int nGroups, int headsPerGroup, int n, int di, int len, float* state, const float* hOffset, const float* yOffset, float* y), (xBC, conv, dtRaw, dtHalf, dtWidth, dtCol, dtBias, dtMin, dtMax, A, D, headDim, nGroups, headsPerGroup, n, di, len, state, hOffset, yOffset, y))


// ---- The chunked scan in matrix form (the state space dual). Time goes in chunks of Q ∈ {32, 64} steps
// (CudaSsd.Chunked). In chunk k of sequence s, head h (group g), with the step decays' running log cum_t = Σ_{r≤t} dt_r·A_h
// and the mask L[t,r] = exp(cum_t − cum_r) for r ≤ t (0 above the diagonal):
//   y_t   = Σ_{r≤t} L[t,r]·dt_r·(C_t·B_r)·x_r + exp(cum_t)·start·C_t + D_h·x_t + y′       (h′·C_t: a GEMM in CudaSsd)
//   h_end = exp(cum_end)·start + Σ_r exp(cum_end − cum_r)·dt_r·x_r B_rᵀ
// so each pass is a few small matrix products per (head, chunk, sequence): a block of SSD_FORWARD_BLOCK or SSD_BACKWARD_BLOCK
// threads, grid (nHeads, b, chunks), computes them on tensor cores from shared-memory tiles: x and dy (Q, P); B and C (Q, n); states (P, n); masks
// (Q, Q). P is padded to a multiple of 32 and n to one of 16 (zeros), and every tile's stride is ≡ 12 (mod 32) floats
// (ssd_stride), which keeps the fragment loads below free of bank conflicts (those along a tile's columns nearly so).
// Rows past the chunk's steps are zeros with dt = 0. The states at the chunks' edges, (b, chunks, di, n) at
// ((b·chunks + k)·di + c)·n + q, come from ssd_chunk_walk, which carries the state from chunk to chunk on chip.
// Threads a block: 512 (16 warps) for the backward, so that its one block an SM (its tiles take 226 KB) has warps to hide
// latency with; 256 for the forward passes, whose smaller tiles fit two or more blocks an SM.
#define SSD_BACKWARD_BLOCK 512
#define SSD_FORWARD_BLOCK 256

// Products are 3xTF32 (mma.sync m16n8k8): each fp32 operand splits into a TF32 high part and the TF32 rest, and
// hi·hi + hi·lo + lo·hi keeps the fp32 product's precision. With --dtype bf16 (the kernels' _tf32 instances) only hi·hi:
// TF32 operands (11 bits) are still finer than the bf16 that the model's GEMMs round to, as the Triton SSD's bf16 dots.
__device__ __forceinline__ void ssd_split(float v, unsigned& hi, unsigned& lo) {
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(hi) : "f"(v));
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(lo) : "f"(v - __uint_as_float(hi)));
}

__device__ __forceinline__ void ssd_mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// A warp's 32 × 16 tile of a product of shared-memory tiles: acc[m][j][e] += Σ_{κ<K} A(row, κ)·B(κ, col), K a multiple of 8,
// A(r, κ) = a[r·am + κ·ak], B(κ, c) = b[κ·bk + c·bn] (any strides: transposes are free), at row = ssd_row(r0, m, e),
// col = ssd_col(c0, j, e): the m16n8 accumulator layout. FAST: TF32 products (hi·hi only).
__device__ __forceinline__ int ssd_row(int r0, int m, int e) { return r0 + 16 * m + (threadIdx.x & 31) / 4 + 8 * (e >> 1); }
__device__ __forceinline__ int ssd_col(int c0, int j, int e) { return c0 + 8 * j + 2 * (threadIdx.x & 3) + (e & 1); }

}  // extern "C"
template <bool FAST> __device__ __forceinline__ void ssd_mma_tile(float (&acc)[2][2][4], const float* a, int am, int ak, const float* b, int bk, int bn,
                                             int K, int r0, int c0) {
    int gid = (threadIdx.x & 31) / 4, tig = threadIdx.x & 3;
    #pragma unroll 2
    for (int k0 = 0; k0 < K; k0 += 8) {
        unsigned ah[2][4], al[2][4], bh[2][2], bl[2][2];
        #pragma unroll
        for (int m = 0; m < 2; m++)
            #pragma unroll
            for (int e = 0; e < 4; e++)
                ssd_split(a[(r0 + 16 * m + gid + 8 * (e & 1)) * am + (k0 + tig + 4 * (e >> 1)) * ak], ah[m][e], al[m][e]);
        #pragma unroll
        for (int j = 0; j < 2; j++)
            #pragma unroll
            for (int e = 0; e < 2; e++) ssd_split(b[(k0 + tig + 4 * e) * bk + (c0 + 8 * j + gid) * bn], bh[j][e], bl[j][e]);
        #pragma unroll
        for (int m = 0; m < 2; m++)
            #pragma unroll
            for (int j = 0; j < 2; j++) {
                if (!FAST) {
                    ssd_mma(acc[m][j], ah[m], bl[j]);
                    ssd_mma(acc[m][j], al[m], bh[j]);
                }
                ssd_mma(acc[m][j], ah[m], bh[j]);
            }
    }
}
extern "C" {

// The warp tiles (r0, c0) of an M × N output (M a multiple of 32, N of 16) that this warp computes, one after another.
#define SSD_WARP_TILES(r0, c0, M, N) \
    for (int wt_ = threadIdx.x / 32, r0 = 0, c0 = 0; \
         wt_ < ((M) / 32) * ((N) / 16) && ((r0 = wt_ / ((N) / 16) * 32), (c0 = wt_ % ((N) / 16) * 16), true); wt_ += blockDim.x / 32)

// For each of a warp tile's accumulators: its row t and column c, and acc[m_][j_][e_] as v, in the statements that follow.
#define SSD_EACH(acc, r0, c0, ...) \
    _Pragma("unroll") for (int m_ = 0; m_ < 2; m_++) _Pragma("unroll") for (int j_ = 0; j_ < 2; j_++) \
    _Pragma("unroll") for (int e_ = 0; e_ < 4; e_++) { \
        int t = ssd_row(r0, m_, e_), c = ssd_col(c0, j_, e_); float& v = acc[m_][j_][e_]; __VA_ARGS__ }

// As SSD_EACH, two neighbouring accumulators at a time: row t, columns c (even) and c + 1, their values v0 and v1.
#define SSD_EACH_PAIR(acc, r0, c0, ...) \
    _Pragma("unroll") for (int m_ = 0; m_ < 2; m_++) _Pragma("unroll") for (int j_ = 0; j_ < 2; j_++) \
    _Pragma("unroll") for (int e_ = 0; e_ < 4; e_ += 2) { \
        int t = ssd_row(r0, m_, e_), c = ssd_col(c0, j_, e_); float v0 = acc[m_][j_][e_], v1 = acc[m_][j_][e_ + 1]; __VA_ARGS__ }

// p[0] = a and, if both, p[1] = b (ssd_add2: +=): one 8-byte access where p is aligned for it, so that a warp's accesses
// of an accumulator tile fill whole sectors.
__device__ __forceinline__ void ssd_put2(float* p, bool both, float a, float b) {
    if (both && ((unsigned long long) p & 7) == 0) *reinterpret_cast<float2*>(p) = make_float2(a, b);
    else {
        p[0] = a;
        if (both) p[1] = b;
    }
}

__device__ __forceinline__ void ssd_add2(float* p, bool both, float a, float b) {
    if (both && ((unsigned long long) p & 7) == 0) {
        float2 o = *reinterpret_cast<float2*>(p);
        *reinterpret_cast<float2*>(p) = make_float2(o.x + a, o.y + b);
    } else {
        p[0] += a;
        if (both) p[1] += b;
    }
}

// A tile's stride for `cols` floats a row: ≡ 12 (mod 32) (CudaSsd.Chunked.stride).
__device__ __forceinline__ int ssd_stride(int cols) { return cols + ((12 - cols % 32) + 32) % 32; }

// Adds the row sums of a warp tile into sums (shared): part is this thread's share of row t (its m, e >> 1 rows); the four
// lanes of a row add theirs by shuffles, and one of them adds the total. The whole warp calls it.
__device__ __forceinline__ void ssd_row_add(float* sums, int t, float part) {
    part += __shfl_xor_sync(0xffffffff, part, 1);
    part += __shfl_xor_sync(0xffffffff, part, 2);
    if ((threadIdx.x & 3) == 0) atomicAdd(sums + t, part);
}

// Inclusive running sums of v[0..Q) in place (reverse: sums from the end), Q ≤ 64, by warp 0: two values a lane, shuffles.
// The caller syncs before and after.
}  // extern "C"
template <typename T> __device__ void ssd_running_sum(T* v, int Q, bool reverse) {
    if (threadIdx.x >= 32) return;
    int l = threadIdx.x, i0 = reverse ? Q - 1 - 2 * l : 2 * l, i1 = reverse ? i0 - 1 : i0 + 1;
    bool on0 = 2 * l < Q, on1 = 2 * l + 1 < Q;
    T a = on0 ? v[i0] : T(0), b = on1 ? v[i1] : T(0), run = a + b;
    #pragma unroll
    for (int m = 1; m < 32; m <<= 1) {
        T o = __shfl_up_sync(0xffffffff, run, m);
        if (l >= m) run += o;
    }
    if (on0) v[i0] = run - b;
    if (on1) v[i1] = run;
}
extern "C" {

// dtRaw (and ssd_chunk_backward's dDtRaw) is float32 or, with dtHalf, bf16: a training forward's kept in_proj output.
#define SSD_PARAMS const float* xBC, int conv, const void* dtRaw, int dtHalf, int dtWidth, int dtCol, const float* dtBias, float dtMin, \
    float dtMax, const float* A, int headDim, int nGroups, int headsPerGroup, int stateN, int len, int chunkQ
#define SSD_ARGS xBC, conv, dtRaw, dtHalf, dtWidth, dtCol, dtBias, dtMin, dtMax, A, headDim, nGroups, headsPerGroup, stateN, len, chunkQ

// The passes are templates on the chunk's steps QC, head size PC and state size NC, 0 for any (taken from the arguments):
// known sizes make every tile stride a constant, so loads take immediate offsets; and on FAST (TF32 products). SSD_SHAPES
// instantiates each kernel, `threads` a block, for any size (name) and for the common Mamba-2 shape (name_q64p64n128: head
// size 64, state size 128, as 130m to 2.7b), each in 3xTF32 and in TF32 (suffix _tf32).
#define SSD_SHAPES(name, threads, params, args) \
    __global__ void __launch_bounds__(threads) name params { name##_impl<0, 0, 0, false> args; } \
    __global__ void __launch_bounds__(threads) name##_q64p64n128 params { name##_impl<64, 64, 128, false> args; } \
    __global__ void __launch_bounds__(threads) name##_tf32 params { name##_impl<0, 0, 0, true> args; } \
    __global__ void __launch_bounds__(threads) name##_q64p64n128_tf32 params { name##_impl<64, 64, 128, true> args; }

// What every chunk pass knows of its block: its sizes Q, P, n; head h of group g, sequence s, chunk k of `chunks` with
// `steps` real steps from row0; P, n padded to Pp, Np and the strides sx, sn of tiles Pp, Np wide; its head's (P, n)
// slice of the chunk's states starts at stateAt.
#define SSD_BLOCK \
    const int Q = QC ? QC : chunkQ, P = PC ? PC : headDim, n = NC ? NC : stateN; \
    int h = blockIdx.x, nHeads = gridDim.x, di = nHeads * P, g = h / headsPerGroup; \
    int s = blockIdx.y, k = blockIdx.z, chunks = gridDim.z, t0 = k * Q, steps = min(len, t0 + Q) - t0; \
    int Pp = (P + 31) & ~31, Np = (n + 15) & ~15, sx = ssd_stride(Pp), sn = ssd_stride(Np); \
    long long row0 = (long long) s * len + t0, stateAt = (((long long) s * chunks + k) * di + (long long) h * P) * n; \

// dtT (Q) = the clamped softplus dt of each step (0 past steps); cumT (Q) = cum_t, in double: a difference of two cums
// near −100 keeps its precision; facT (may be null) = ∂dt/∂dtRaw (0 where dt clamped, as torch.clamp). Syncs.
__device__ __forceinline__ void ssd_stage_cum(float* dtT, double* cumT, float* facT, const void* dtRaw, int dtHalf, int dtWidth, int dtCol, int h, float bias,
                              float dtMin, float dtMax, float a, long long row0, int steps, int Q) {
    for (int r = threadIdx.x; r < Q; r += blockDim.x) {
        float pre = r < steps ? load_either(dtRaw, dtHalf, (row0 + r) * dtWidth + dtCol + h) + bias : 0.f, sp = ssd_softplus(pre);
        float dtv = r < steps ? fminf(fmaxf(sp, dtMin), dtMax) : 0.f;
        dtT[r] = dtv;
        cumT[r] = (double) dtv * a;
        if (facT) facT[r] = sp < dtMin || sp > dtMax ? 0.f : (pre > 20.f ? 1.f : ssd_sigmoid(pre));
    }
    __syncthreads();
    ssd_running_sum(cumT, Q, false);
    __syncthreads();
}

// The states at the chunks' edges, in one walk over the chunks per block of 32 channels (state rows) of one head and sequence:
// v starts as h0 (null: zeros; reverse: zeros), and at each chunk k in turn (reverse: from the last) states_k = v (may be
// null), then v = exp(cum_end)·v + Σ_t w_t·V[t, i]·U[t, q] over the chunk; the v left after the walk goes to last (null:
// nowhere; reverse: +=; it may be h0). Forward: V = x, U = B, w_t = dt_t·exp(cum_end − cum_t), so states_k is start_k, the
// state entering chunk k, and last the final state. Reverse (backward pass 1): V = dy, U = C, w_t = exp(cum_t), so states_k
// is carryIn_k (∂L/∂h at chunk k's end through the later chunks) and last ∂L/∂h0. v stays in the warps' accumulators all
// the way (each warp one or two 32 × 16 tiles of it: n ≤ 256), and the next chunk's tiles are staged while this one is
// computed. grid (nHeads, b, Pp / 32), block SSD_FORWARD_BLOCK (8 warps). Shared: cum (Q doubles); dt (Q); two buffers
// of V (Q, 32 channels, stride sv) and U (Q, sn).
#define SSD_WALK_TILES 2
#define SSD_WALK_WARPS (SSD_FORWARD_BLOCK / 32)
}  // extern "C"
template <int QC, int PC, int NC, bool FAST> __device__ void ssd_chunk_walk_impl(SSD_PARAMS, int reverse, const float* dy, const float* h0, float* states,
                                                               float* last) {
    extern __shared__ float ssdTile[];
    const int Q = QC ? QC : chunkQ, P = PC ? PC : headDim, n = NC ? NC : stateN;
    int h = blockIdx.x, nHeads = gridDim.x, di = nHeads * P, g = h / headsPerGroup, s = blockIdx.y, i0 = 32 * blockIdx.z;
    int rows = min(32, P - i0), chunks = (len + Q - 1) / Q, Np = (n + 15) & ~15, sv = ssd_stride(32), sn = ssd_stride(Np);
    int warp = threadIdx.x / 32, tiles = Np / 16, buffer = Q * (sv + sn);
    double* cumT = (double*) ssdTile;
    float *dtT = (float*) (cumT + Q), *buffers = dtT + Q;
    long long first = ((long long) s * di + h * P + i0) * n;   // the slice's row 0 in h0 and last (b, di, n)
    auto stage = [&](int step) {   // chunk `step` of the walk into buffer step % 2
        int k = reverse ? chunks - 1 - step : step, t0 = k * Q, steps = min(len, t0 + Q) - t0;
        long long row0 = (long long) s * len + t0;
        float *vT = buffers + (step & 1) * buffer, *uT = vT + Q * sv;
        if (reverse) stage_tile(vT, sv, Q, 32, dy, di, h * P + i0, rows, row0, steps);
        else stage_tile(vT, sv, Q, 32, xBC, conv, h * P + i0, rows, row0, steps);
        stage_tile(uT, sn, Q, Np, xBC, conv, di + ((reverse ? nGroups : 0) + g) * n, n, row0, steps);
        copies_commit();
    };
    float hv[SSD_WALK_TILES][2][2][4];   // v, as accumulators: this warp's tiles warp + SSD_WALK_WARPS·tl of its (32, Np)
    #pragma unroll
    for (int tl = 0; tl < SSD_WALK_TILES; tl++)
        if (warp + SSD_WALK_WARPS * tl < tiles) SSD_EACH(hv[tl], 0, 16 * (warp + SSD_WALK_WARPS * tl), v = h0 && !reverse && t < rows && c < n ? h0[first + (long long) t * n + c] : 0.f;)
    float a = A[h], bias = dtBias[h];
    stage(0);
    for (int step = 0; step < chunks; step++) {
        int k = reverse ? chunks - 1 - step : step, t0 = k * Q, steps = min(len, t0 + Q) - t0;
        if (step + 1 < chunks) stage(step + 1);
        ssd_stage_cum(dtT, cumT, nullptr, dtRaw, dtHalf, dtWidth, dtCol, h, bias, dtMin, dtMax, a, (long long) s * len + t0, steps, Q);
        if (step + 1 < chunks) copies_wait_but_one();
        else copies_wait_all();
        __syncthreads();
        float *vT = buffers + (step & 1) * buffer, *uT = vT + Q * sv;
        double cumEnd = cumT[steps - 1];
        for (int idx = threadIdx.x; idx < Q * 32; idx += blockDim.x) {   // V's rows times w
            int r = idx / 32;
            vT[r * sv + idx % 32] *= reverse ? expf((float) cumT[r]) : dtT[r] * expf((float) (cumEnd - cumT[r]));
        }
        __syncthreads();
        float decay = expf((float) cumEnd), *edge = states ? states + (((long long) s * chunks + k) * di + h * P + i0) * n : nullptr;
        #pragma unroll
        for (int tl = 0; tl < SSD_WALK_TILES; tl++) {
            int c0 = 16 * (warp + SSD_WALK_WARPS * tl);
            if (c0 >= Np) continue;
            if (edge) SSD_EACH_PAIR(hv[tl], 0, c0, if (t < rows && c < n) ssd_put2(edge + (long long) t * n + c, c + 1 < n, v0, v1);)
            float acc[2][2][4] = {};
            ssd_mma_tile<FAST>(acc, vT, 1, sv, uT, sn, 1, Q, 0, c0);   // (w ⊙ V)ᵀ·U
            SSD_EACH(hv[tl], 0, c0, v = decay * v + acc[m_][j_][e_];)
        }
        __syncthreads();   // this buffer and cum are free for the chunk after next
    }
    if (last)
        #pragma unroll
        for (int tl = 0; tl < SSD_WALK_TILES; tl++) {
            int c0 = 16 * (warp + SSD_WALK_WARPS * tl);
            if (c0 < Np) SSD_EACH(hv[tl], 0, c0, if (t < rows && c < n) { float* o = last + first + (long long) t * n + c; *o = reverse ? *o + v : v; })
        }
}
extern "C" {
SSD_SHAPES(ssd_chunk_walk, SSD_FORWARD_BLOCK, (SSD_PARAMS, int reverse, const float* dy, const float* h0, float* states, float* last),
           (SSD_ARGS, reverse, dy, h0, states, last))

// C·Bᵀ of each chunk and group, which all the group's heads share (each masks it with its own decays): cb (b·chunks·nGroups, Q, Q)
// at ((s·chunks + k)·nGroups + g), row t, column r, zeros past the chunk's steps. grid (nGroups, b, chunks). Shared: B, C (Q, sn).
}  // extern "C"
template <int QC, int PC, int NC, bool FAST> __device__ void ssd_chunk_cb_impl(SSD_PARAMS, float* cb) {
    extern __shared__ float ssdTile[];
    const int Q = QC ? QC : chunkQ, n = NC ? NC : stateN;
    int g = blockIdx.x, s = blockIdx.y, k = blockIdx.z, chunks = gridDim.z, t0 = k * Q, steps = min(len, t0 + Q) - t0;
    int di = nGroups * headsPerGroup * headDim, Np = (n + 15) & ~15, sn = ssd_stride(Np);
    long long row0 = (long long) s * len + t0;
    float *bT = ssdTile, *cT = bT + Q * sn, *out = cb + (((long long) s * chunks + k) * nGroups + g) * Q * Q;
    stage_tile(bT, sn, Q, Np, xBC, conv, di + g * n, n, row0, steps);
    stage_tile(cT, sn, Q, Np, xBC, conv, di + (nGroups + g) * n, n, row0, steps);
    copies_landed();
    SSD_WARP_TILES(r0, c0, Q, Q) {
        float acc[2][2][4] = {};
        ssd_mma_tile<FAST>(acc, cT, sn, 1, bT, 1, sn, Np, r0, c0);
        SSD_EACH_PAIR(acc, r0, c0, ssd_put2(out + t * Q + c, true, v0, v1);)
    }
}
extern "C" {
SSD_SHAPES(ssd_chunk_cb, SSD_FORWARD_BLOCK, (SSD_PARAMS, float* cb), (SSD_ARGS, cb))

// Forward pass 2: y of each chunk from its start state, y_t = Σ_r M[t, r]·x_r + exp(cum_t)·start·C_t + D_h·x_t + y′ with
// M = (C·Bᵀ) ⊙ L ⊙ dt_r, C·Bᵀ from ssd_chunk_cb. yOffset (nHeads·headDim) may be null. Shared: cum (Q doubles); dt (Q);
// x (Q, sx); C (Q, sn); start (Pp, sn); M (Q, sq). (That fits two blocks an SM at the common shape.)
}  // extern "C"
template <int QC, int PC, int NC, bool FAST> __device__ void ssd_chunk_out_impl(SSD_PARAMS, const float* cb, const float* D, const float* start,
                                                              const float* yOffset, float* y) {
    extern __shared__ float ssdTile[];
    SSD_BLOCK
    int sq = ssd_stride(Q);
    double* cumT = (double*) ssdTile;
    float *dtT = (float*) (cumT + Q), *xT = dtT + Q, *cT = xT + Q * sx, *hT = cT + Q * sn, *mT = hT + Pp * sn;
    stage_tile(xT, sx, Q, Pp, xBC, conv, h * P, P, row0, steps);
    stage_tile(cT, sn, Q, Np, xBC, conv, di + (nGroups + g) * n, n, row0, steps);
    stage_tile(hT, sn, Pp, Np, start + stateAt, n, 0, n, 0, P);
    stage_tile(mT, sq, Q, Q, cb + (((long long) s * chunks + k) * nGroups + g) * Q * Q, Q, 0, Q, 0, Q);
    ssd_stage_cum(dtT, cumT, nullptr, dtRaw, dtHalf, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, A[h], row0, steps, Q);
    copies_landed();
    for (int idx = threadIdx.x; idx < Q * Q; idx += blockDim.x) {   // M = C·Bᵀ ⊙ L ⊙ dt_r
        int t = idx / Q, r = idx % Q;
        float* m = mT + t * sq + r;
        *m = r <= t && t < steps ? *m * expf((float) (cumT[t] - cumT[r])) * dtT[r] : 0.f;
    }
    __syncthreads();
    float d = D[h];
    SSD_WARP_TILES(r0, c0, Q, Pp) {
        float intra[2][2][4] = {}, inter[2][2][4] = {};
        ssd_mma_tile<FAST>(intra, mT, sq, 1, xT, sx, 1, Q, r0, c0);    // M·x
        ssd_mma_tile<FAST>(inter, cT, sn, 1, hT, 1, sn, Np, r0, c0);   // C·startᵀ
        SSD_EACH_PAIR(intra, r0, c0, if (t < steps && c < P) {
            float e = expf((float) cumT[t]);
            bool both = c + 1 < P;
            ssd_put2(y + (row0 + t) * di + h * P + c, both, v0 + e * inter[m_][j_][e_] + d * xT[t * sx + c] + (yOffset ? yOffset[h * P + c] : 0.f),
                     v1 + e * inter[m_][j_][e_ + 1] + d * xT[t * sx + c + 1] + (yOffset && both ? yOffset[h * P + c + 1] : 0.f));
        })
    }
}
extern "C" {
SSD_SHAPES(ssd_chunk_out, SSD_FORWARD_BLOCK, (SSD_PARAMS, const float* cb, const float* D, const float* start, const float* yOffset,
                                                              float* y), (SSD_ARGS, cb, D, start, yOffset, y))


// Backward pass 2: every gradient of one head's chunk from its start state and carryIn (∂L/∂h_end through the later
// chunks), with G = dy·xᵀ, CB = C·Bᵀ (ssd_chunk_cb's) and e_t = exp(cum_end − cum_t):
//   dx  = dt ⊙ [(CB ⊙ L)ᵀ·dy + e ⊙ B·carryInᵀ] + D·dy           ∂L/∂dt (direct) = Σ_i x ⊙ [that bracket]
//   dB  = dt ⊙ [(G ⊙ L)ᵀ·C + e ⊙ x·carryIn]                    dC = (G ⊙ L ⊙ dt_r)·B + exp(cum) ⊙ dy·start
// and, for each step's log decay a_u = dt_u·A_h, ∂L/∂a_u from every exp of a sum of them that spans u, each a sum of its own
// terms (no differences of large sums): Σ_{t≥u, r<u} W[t,r] with W = G ⊙ L ⊙ dt_r ⊙ CB (the mask's entries that span u);
// Σ_{t≥u} exp(cum_t)·C_t·(dy·start)_t; Σ_{t<u} e_t·dt_t·B_t·(x·carryIn)_t; exp(cum_end)·Σ carryIn ⊙ start. That gives dA
// and the rest of ∂L/∂dt. dx and ∂L/∂dtRaw are complete in the block and added to dxBC, dDtRaw; dB | dC go into bcPartials
// (headsPerGroup, b·len, 2·nGroups·n) at the group's columns, which scan_sum_partials adds up; dDtBias, dA, dD, dyOffset
// (may be null) by atomics. h′'s terms are GEMMs in CudaSsd.
// Shared: cum (Q doubles); 32 floats for block sums; dt, ∂dt/∂dtRaw, ∂L/∂dt, the two running terms of ∂L/∂a (Q);
// x, dy (Q, sx); B, C (Q, sn); carryIn, then start (Pp, sn); CB ⊙ L, G ⊙ L, G ⊙ L ⊙ dt_r, W (Q, sq).
}  // extern "C"
template <int QC, int PC, int NC, bool FAST> __device__ void ssd_chunk_backward_impl(SSD_PARAMS, const float* cb, const float* D, const float* start,
                                                                   const float* carryIn,
                                                                   const float* dy, float* dxBC, void* dDtRaw, int dDtWidth,
                                                                   float* bcPartials, float* dDtBias, float* dA, float* dD, float* dyOffset) {
    extern __shared__ float ssdTile[];
    SSD_BLOCK
    int sq = ssd_stride(Q);
    double* cumT = (double*) ssdTile;
    float *redT = (float*) (cumT + Q), *dtT = redT + 32, *facT = dtT + Q, *gdtT = facT + Q, *inT = gdtT + Q, *outT = inT + Q;
    float *xT = outT + Q, *gT = xT + Q * sx, *bT = gT + Q * sx, *cT = bT + Q * sn, *hT = cT + Q * sn;
    float *cblT = hT + Pp * sn, *glT = cblT + Q * sq, *gldT = glT + Q * sq, *wT = gldT + Q * sq;
    float a = A[h];
    stage_tile(xT, sx, Q, Pp, xBC, conv, h * P, P, row0, steps);
    stage_tile(gT, sx, Q, Pp, dy, di, h * P, P, row0, steps);
    stage_tile(bT, sn, Q, Np, xBC, conv, di + g * n, n, row0, steps);
    stage_tile(cT, sn, Q, Np, xBC, conv, di + (nGroups + g) * n, n, row0, steps);
    stage_tile(hT, sn, Pp, Np, carryIn + stateAt, n, 0, n, 0, P);
    stage_tile(cblT, sq, Q, Q, cb + (((long long) s * chunks + k) * nGroups + g) * Q * Q, Q, 0, Q, 0, Q);   // C·Bᵀ, masked below
    ssd_stage_cum(dtT, cumT, facT, dtRaw, dtHalf, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, a, row0, steps, Q);
    for (int r = threadIdx.x; r < Q; r += blockDim.x) gdtT[r] = inT[r] = outT[r] = 0.f;
    double cumEnd = cumT[steps - 1];
    float startDot = 0.f;   // Σ carryIn ⊙ start
    #pragma unroll 8
    for (int idx = threadIdx.x; idx < P * n; idx += blockDim.x) startDot += carryIn[stateAt + idx] * start[stateAt + idx];
    copies_landed();
    startDot = ssd_block_sum(startDot, redT) * expf((float) cumEnd);
    float gD = 0.f;   // Σ dy ⊙ x; and Σ_t dy per channel into dyOffset
    for (int idx = threadIdx.x; idx < Q * Pp; idx += blockDim.x) gD += gT[idx / Pp * sx + idx % Pp] * xT[idx / Pp * sx + idx % Pp];
    if (dyOffset)
        for (int i = threadIdx.x; i < P; i += blockDim.x) {
            float sum = 0.f;
            for (int t = 0; t < steps; t++) sum += gT[t * sx + i];
            atomicAdd(dyOffset + h * P + i, sum);
        }
    SSD_WARP_TILES(r0, c0, Q, Q) {
        float gg[2][2][4] = {};
        ssd_mma_tile<FAST>(gg, gT, sx, 1, xT, 1, sx, Pp, r0, c0);   // dy·xᵀ
        SSD_EACH(gg, r0, c0, {
            float l = c <= t && t < steps ? expf((float) (cumT[t] - cumT[c])) : 0.f, gl = v * l, cbv = cblT[t * sq + c];
            cblT[t * sq + c] = cbv * l;
            glT[t * sq + c] = gl;
            gldT[t * sq + c] = gl * dtT[c];
            wT[t * sq + c] = gl * dtT[c] * cbv;
        })
    }
    __syncthreads();
    float d = D[h];
    SSD_WARP_TILES(r0, c0, Q, Pp) {   // dx, ∂L/∂dt direct
        float intra[2][2][4] = {}, inter[2][2][4] = {}, rows[2][2] = {};
        ssd_mma_tile<FAST>(intra, cblT, 1, sq, gT, sx, 1, Q, r0, c0);   // (CB ⊙ L)ᵀ·dy
        ssd_mma_tile<FAST>(inter, bT, sn, 1, hT, 1, sn, Np, r0, c0);    // B·carryInᵀ
        SSD_EACH_PAIR(intra, r0, c0, {
            float e = expf((float) (cumEnd - cumT[t])), pre0 = v0 + e * inter[m_][j_][e_], pre1 = v1 + e * inter[m_][j_][e_ + 1];
            rows[m_][e_ >> 1] += xT[t * sx + c] * pre0 + xT[t * sx + c + 1] * pre1;
            if (t < steps && c < P)
                ssd_add2(dxBC + (row0 + t) * conv + h * P + c, c + 1 < P, dtT[t] * pre0 + d * gT[t * sx + c], dtT[t] * pre1 + d * gT[t * sx + c + 1]);
        })
        for (int m = 0; m < 2; m++)
            for (int eh = 0; eh < 2; eh++) ssd_row_add(gdtT, ssd_row(r0, m, 2 * eh), rows[m][eh]);
    }
    int width = 2 * nGroups * n;
    float* part = bcPartials + ((long long) (h % headsPerGroup) * gridDim.y * len + row0) * width;
    SSD_WARP_TILES(r0, c0, Q, Np) {   // dB
        float intra[2][2][4] = {}, inter[2][2][4] = {}, rows[2][2] = {};
        ssd_mma_tile<FAST>(intra, glT, 1, sq, cT, sn, 1, Q, r0, c0);    // (G ⊙ L)ᵀ·C
        ssd_mma_tile<FAST>(inter, xT, sx, 1, hT, sn, 1, Pp, r0, c0);    // x·carryIn
        SSD_EACH_PAIR(intra, r0, c0, {
            float e = expf((float) (cumEnd - cumT[t])), w0 = inter[m_][j_][e_], w1 = inter[m_][j_][e_ + 1];
            rows[m_][e_ >> 1] += e * dtT[t] * (bT[t * sn + c] * w0 + bT[t * sn + c + 1] * w1);
            if (t < steps && c < n) ssd_put2(part + (long long) t * width + g * n + c, c + 1 < n, dtT[t] * (v0 + e * w0), dtT[t] * (v1 + e * w1));
        })
        for (int m = 0; m < 2; m++)
            for (int eh = 0; eh < 2; eh++) ssd_row_add(outT, ssd_row(r0, m, 2 * eh), rows[m][eh]);
    }
    __syncthreads();   // carryIn's tile is done with
    stage_tile(hT, sn, Pp, Np, start + stateAt, n, 0, n, 0, P);
    copies_landed();
    SSD_WARP_TILES(r0, c0, Q, Np) {   // dC
        float intra[2][2][4] = {}, inter[2][2][4] = {}, rows[2][2] = {};
        ssd_mma_tile<FAST>(intra, gldT, sq, 1, bT, sn, 1, Q, r0, c0);   // (G ⊙ L ⊙ dt_r)·B
        ssd_mma_tile<FAST>(inter, gT, sx, 1, hT, sn, 1, Pp, r0, c0);    // dy·start
        SSD_EACH_PAIR(intra, r0, c0, {
            float e = expf((float) cumT[t]), w0 = inter[m_][j_][e_], w1 = inter[m_][j_][e_ + 1];
            rows[m_][e_ >> 1] += e * (cT[t * sn + c] * w0 + cT[t * sn + c + 1] * w1);
            if (t < steps && c < n) ssd_put2(part + (long long) t * width + (nGroups + g) * n + c, c + 1 < n, v0 + e * w0, v1 + e * w1);
        })
        for (int m = 0; m < 2; m++)
            for (int eh = 0; eh < 2; eh++) ssd_row_add(inT, ssd_row(r0, m, 2 * eh), rows[m][eh]);
    }
    __syncthreads();
    ssd_running_sum(inT, Q, true);     // Σ_{t≥u}
    ssd_running_sum(outT, Q, false);   // Σ_{t≤u}
    if (threadIdx.x < Q) {   // row t of W: Σ_{r<u} W[t,r] at u
        float* row = wT + threadIdx.x * sq, run = 0.f;
        for (int u = 0; u < Q; u++) {
            float v = row[u];
            row[u] = run;
            run += v;
        }
    }
    __syncthreads();
    float gA = 0.f, gBias = 0.f;
    for (int u = threadIdx.x; u < steps; u += blockDim.x) {
        float ga = inT[u] + (u > 0 ? outT[u - 1] : 0.f) + startDot;   // ∂L/∂a_u
        for (int t = u; t < steps; t++) ga += wT[t * sq + u];
        float dPre = (gdtT[u] + a * ga) * facT[u];
        add_either(dDtRaw, dtHalf, (row0 + u) * dDtWidth + dtCol + h, dPre);   // of dtRaw's type
        gBias += dPre;
        gA += dtT[u] * ga;
    }
    gA = ssd_block_sum(gA, redT);
    gBias = ssd_block_sum(gBias, redT);
    gD = ssd_block_sum(gD, redT);
    if (threadIdx.x == 0) {
        if (dA) atomicAdd(dA + h, gA);
        if (dDtBias) atomicAdd(dDtBias + h, gBias);
        if (dD) atomicAdd(dD + h, gD);
    }
}
extern "C" {
SSD_SHAPES(ssd_chunk_backward, SSD_BACKWARD_BLOCK, (SSD_PARAMS, const float* cb, const float* D, const float* start, const float* carryIn,
                                                                   const float* dy, float* dxBC, void* dDtRaw, int dDtWidth,
                                                                   float* bcPartials, float* dDtBias, float* dA, float* dD, float* dyOffset), (SSD_ARGS, cb, D, start, carryIn, dy, dxBC, dDtRaw, dDtWidth, bcPartials, dDtBias, dA, dD, dyOffset))

// gatedRmsNorm (transformers' MambaRMSNormGated, norm after gate): v = y ⊙ silu(z); out = v / sqrt(mean
// over its group of v² + eps) ⊙ weight, for y, out (T, w) and z (T, zWidth) read at [zCol, zCol+w), float32 or, with zHalf,
// bf16 (a training forward's kept in_proj output). One block per (row, group): grid (T, w / groupSize), block 256.
__global__ void gated_rms_norm(const float* y, const void* z, int zHalf, int zWidth, int zCol, const float* weight, int w, int groupSize,
                               float eps, float* out, unsigned short* out16) {
    __shared__ float sm[32];
    long long base = (long long) blockIdx.x * w, zBase = (long long) blockIdx.x * zWidth + zCol;
    int c0 = blockIdx.y * groupSize;
    float sq = 0.f;
    for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
        float zv = load_either(z, zHalf, zBase + c), v = y[base + c] * zv * ssd_sigmoid(zv);
        sq += v * v;
    }
    float inv = rsqrtf(ssd_block_sum(sq, sm) / groupSize + eps);
    for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
        float zv = load_either(z, zHalf, zBase + c), v = y[base + c] * zv * ssd_sigmoid(zv);
        out[base + c] = weight[c] * (v * inv);
        if (out16) out16[base + c] = (unsigned short) bf16_bits(weight[c] * (v * inv));   // out16: as kernels.cu's
    }
}

// gatedRmsNormBackward: with r = 1/sqrt(mean(v²) + eps) over the group, dv = r·weight⊙g − v·r³·(Σ weight⊙g⊙v)/groupSize;
// dy += dv ⊙ silu(z), dz += dv ⊙ y ⊙ silu′(z) (dz laid out as z), dWeight's share g⊙v·r summed over
// the block's rows into dwPartials (gridDim.x, w), which scan_sum_partials adds up. dy, dz, dwPartials
// may be null; z and dz are of one type (zHalf: bf16). Blocks take consecutive rows (gridDim.x ≤ rows: one each without dwPartials); grid
// (blocks, w / groupSize), block 256.
__global__ void gated_rms_norm_backward(const float* y, const void* z, int zHalf, int zWidth, int zCol, const float* weight, int w,
                                        int groupSize, float eps, int rows, const float* dOut, float* dy, void* dz, float* dwPartials) {
    __shared__ float sm[32];
    int c0 = blockIdx.y * groupSize;
    int r0 = (int) ((long long) blockIdx.x * rows / gridDim.x), r1 = (int) ((long long) (blockIdx.x + 1) * rows / gridDim.x);
    for (int r = r0; r < r1; r++) {
        long long base = (long long) r * w, zBase = (long long) r * zWidth + zCol;
        float sq = 0.f, dot = 0.f;
        for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
            float zv = load_either(z, zHalf, zBase + c), v = y[base + c] * zv * ssd_sigmoid(zv);
            sq += v * v;
            dot += weight[c] * dOut[base + c] * v;
        }
        float rr = rsqrtf(ssd_block_sum(sq, sm) / groupSize + eps), total = ssd_block_sum(dot, sm);
        for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
            float zv = load_either(z, zHalf, zBase + c), yv = y[base + c], sig = ssd_sigmoid(zv), v = yv * zv * sig, gv = dOut[base + c];
            float dv = rr * weight[c] * gv - v * rr * rr * rr * total / groupSize;
            if (dwPartials) {
                float* p = dwPartials + (long long) blockIdx.x * w + c;
                *p = (r == r0 ? 0.f : *p) + gv * v * rr;
            }
            if (dy) dy[base + c] += dv * zv * sig;
            if (dz) add_either(dz, zHalf, zBase + c, dv * yv * sig * (1.f + zv * (1.f - sig)));
        }
    }
}

}
