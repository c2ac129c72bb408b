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
template <int S, int L> __device__ void ssd_scan_impl(const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol,
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
        float dtv = fminf(fmaxf(ssd_softplus(dtRaw[row * dtWidth + dtCol + h] + bias), dtMin), dtMax);
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
SCAN_SL_VARIANTS(ssd_scan, SCAN_BLOCK, 1, (const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol, const float* dtBias, float dtMin, float dtMax, const float* A, const float* D, int headDim, int nGroups, int headsPerGroup, int n, int di, int len, float* state, const float* hOffset, const float* yOffset, float* y), (xBC, conv, dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, D, headDim, nGroups, headsPerGroup, n, di, len, state, hOffset, yOffset, y))

// ---- the chunked SSD scan (as kernels.cu's chunked selective scan): time split into chunks of chunkLen
// steps; pass 1 runs each chunk from a zero state, pass 2 carries the states over the chunks, pass 3
// runs each chunk from its true start. The decay exp(dt·A_h) is one scalar per (step, head), so a
// block holds channels of one head: blockIdx.x = h·blocksPerHead + the block within the head
// (channels past headDim idle along), blockIdx.y the sequence, blockIdx.z the chunk; the block stages
// the chunk's dt and decay per step, its channels' x (and dy) and the group's B, C (padded to NP = S·L
// columns, zero past n) in shared memory. Blocks of SSD_CHUNK_BLOCK threads (CudaSsd.CHUNK_BLOCK).
// Per-chunk buffers: states ((b·chunks + k)·di + c)·n + j, the chunk's decay product (b·chunks + k)·nHeads + h.
#define SSD_CHUNK_BLOCK 512

#define SSD_THREAD \
    constexpr int PB = SSD_CHUNK_BLOCK / L, NP = S * L; \
    int lane = threadIdx.x % L, local = threadIdx.x / L; \
    int blocksPerHead = (headDim + PB - 1) / PB, sub = blockIdx.x % blocksPerHead, h = blockIdx.x / blocksPerHead; \
    int nHeads = gridDim.x / blocksPerHead, di = nHeads * headDim, i0 = sub * PB, g = h / headsPerGroup; \
    int s = blockIdx.y, k = blockIdx.z, chunks = gridDim.z, t0 = k * chunkLen, steps = min(len, t0 + chunkLen) - t0; \
    bool valid = i0 + local < headDim; \
    int c0 = h * headDim + i0, cEnd = (h + 1) * headDim, c = valid ? c0 + local : h * headDim; \
    long long row0 = (long long) s * len + t0;

// dtT, decT (steps) = the clamped softplus dt and exp(dt·A_h) of each step; facT (may be null) = ∂dt/∂dtRaw
// (0 where dt clamped, as torch.clamp). The whole block stages.
__device__ void ssd_stage_dt(float* dtT, float* decT, float* facT, const float* dtRaw, int dtWidth, int dtCol, int h, float bias,
                             float dtMin, float dtMax, float a, long long row0, int steps) {
    for (int r = threadIdx.x; r < steps; r += blockDim.x) {
        float pre = dtRaw[(row0 + r) * dtWidth + dtCol + h] + bias, sp = ssd_softplus(pre);
        float dtv = fminf(fmaxf(sp, dtMin), dtMax);
        dtT[r] = dtv;
        decT[r] = expf(dtv * a);
        if (facT) facT[r] = sp < dtMin || sp > dtMax ? 0.f : (pre > 20.f ? 1.f : ssd_sigmoid(pre));
    }
}

#define SSD_PARAMS const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol, const float* dtBias, float dtMin, \
    float dtMax, const float* A, int headDim, int nGroups, int headsPerGroup, int n, int len, int chunkLen
#define SSD_ARGS xBC, conv, dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, headDim, nGroups, headsPerGroup, n, len, chunkLen

// Pass 1: each chunk from a zero state: its end state hloc and the product of its decays, decayProd.
// Shared: dt, decay (chunkLen); x (chunkLen, PB); B (chunkLen, NP).
}  // extern "C"
template <int S, int L> __device__ void ssd_chunk_local_impl(SSD_PARAMS, float* hloc, float* decayProd) {
    extern __shared__ float tile[];
    SSD_THREAD
    float *dtT = tile, *decT = dtT + chunkLen, *xT = decT + chunkLen, *bT = xT + chunkLen * PB;
    float a = A[h];
    ssd_stage_dt(dtT, decT, nullptr, dtRaw, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, a, row0, steps);
    stage(xT, xBC, conv, c0, PB, cEnd, row0, steps);
    stage_states(bT, NP, xBC, conv, di + g * n, n, NP, row0, steps);
    __syncthreads();
    float st[S];
    #pragma unroll
    for (int j = 0; j < S; j++) st[j] = 0.f;
    const float *xP = xT + local, *bP = bT + lane;
    float prod = 1.f;
    for (int r = 0; r < steps; r++) {
        float decay = decT[r], u = dtT[r] * xP[r * PB];
        prod *= decay;
        #pragma unroll
        for (int j = 0; j < S; j++) st[j] = decay * st[j] + u * bP[r * NP + j * L];
    }
    if (sub == 0 && threadIdx.x == 0) decayProd[((long long) s * chunks + k) * nHeads + h] = prod;
    if (!valid) return;
    long long at = ((long long) s * chunks + k) * di + c;
    #pragma unroll
    for (int j = 0; j < S; j++) { int q = lane + j * L; if (q < n) hloc[at * n + q] = st[j]; }
}
extern "C" {
SCAN_SL_VARIANTS(ssd_chunk_local, SSD_CHUNK_BLOCK, 1, (SSD_PARAMS, float* hloc, float* decayProd), (SSD_ARGS, hloc, decayProd))

// Pass 2: start_k, the state entering chunk k, from h0 (null: zeros): start_{k+1} = decayProd_k·start_k + hloc_k;
// the state after the last chunk goes to hEnd (may be null, may be h0). One thread per (channel, state);
// grid (ceil(di·n / 256), b), block 256.
__global__ void ssd_chunk_carry(int headDim, int nHeads, int n, int chunks, const float* h0, const float* hloc, const float* decayProd,
                                float* start, float* hEnd) {
    long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x, dn = (long long) nHeads * headDim * n;
    int s = blockIdx.y;
    if (e >= dn) return;
    int h = (int) (e / ((long long) headDim * n));
    float v = h0 ? h0[s * dn + e] : 0.f;
    for (int k = 0; k < chunks; k++) {
        long long at = ((long long) s * chunks + k) * dn + e;
        start[at] = v;
        v = decayProd[((long long) s * chunks + k) * nHeads + h] * v + hloc[at];
    }
    if (hEnd) hEnd[s * dn + e] = v;
}

// Pass 3: each chunk from its start state, y as ssd_scan computes it.
// Shared: dt, decay (chunkLen); x (chunkLen, PB); B, C (chunkLen, NP) each.
}  // extern "C"
template <int S, int L> __device__ void ssd_chunk_out_impl(SSD_PARAMS, const float* D, const float* start, const float* hOffset,
                                                           const float* yOffset, float* y) {
    extern __shared__ float tile[];
    SSD_THREAD
    float *dtT = tile, *decT = dtT + chunkLen, *xT = decT + chunkLen, *bT = xT + chunkLen * PB, *cT = bT + chunkLen * NP;
    float a = A[h];
    ssd_stage_dt(dtT, decT, nullptr, dtRaw, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, a, row0, steps);
    stage(xT, xBC, conv, c0, PB, cEnd, row0, steps);
    stage_states(bT, NP, xBC, conv, di + g * n, n, NP, row0, steps);
    stage_states(cT, NP, xBC, conv, di + (nGroups + g) * n, n, NP, row0, steps);
    __syncthreads();
    long long at = ((long long) s * chunks + k) * di + c;
    float st[S], off[S];
    #pragma unroll
    for (int j = 0; j < S; j++) {
        int q = lane + j * L;
        st[j] = q < n ? start[at * n + q] : 0.f;
        off[j] = q < n && hOffset ? hOffset[(long long) c * n + q] : 0.f;
    }
    float d = D[h], yo = yOffset ? yOffset[c] : 0.f;
    const float *xP = xT + local, *bP = bT + lane, *cP = cT + lane;
    for (int r = 0; r < steps; r++) {
        float decay = decT[r], xv = xP[r * PB], u = dtT[r] * xv;
        float part = 0.f;
        #pragma unroll
        for (int j = 0; j < S; j++) {
            st[j] = decay * st[j] + u * bP[r * NP + j * L];
            part += cP[r * NP + j * L] * (st[j] + off[j]);
        }
        #pragma unroll
        for (int m = L / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, L);
        if (valid && lane == 0) y[(row0 + r) * di + c] = part + d * xv + yo;
    }
}
extern "C" {
SCAN_SL_VARIANTS(ssd_chunk_out, SSD_CHUNK_BLOCK, 1, (SSD_PARAMS, const float* D, const float* start, const float* hOffset, const float* yOffset, float* y), (SSD_ARGS, D, start, hOffset, yOffset, y))

// Backward pass 1: each chunk's reverse carry from zero, dh_t = dy_t C_tᵀ + decay_{t+1}·dh_{t+1}; outloc =
// decay_{t0}·dh_{t0}, what the chunk alone passes to the chunk before it.
// Shared: dt, decay (chunkLen); dy (chunkLen, PB); C (chunkLen, NP).
}  // extern "C"
template <int S, int L> __device__ void ssd_chunk_back_local_impl(SSD_PARAMS, const float* dy, float* outloc) {
    extern __shared__ float tile[];
    SSD_THREAD
    float *dtT = tile, *decT = dtT + chunkLen, *gT = decT + chunkLen, *cT = gT + chunkLen * PB;
    ssd_stage_dt(dtT, decT, nullptr, dtRaw, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, A[h], row0, steps);
    stage(gT, dy, di, c0, PB, cEnd, row0, steps);
    stage_states(cT, NP, xBC, conv, di + (nGroups + g) * n, n, NP, row0, steps);
    __syncthreads();
    float carry[S];
    #pragma unroll
    for (int j = 0; j < S; j++) carry[j] = 0.f;
    const float *gP = gT + local, *cP = cT + lane;
    for (int r = steps - 1; r >= 0; r--) {
        float decay = decT[r], gy = gP[r * PB];
        #pragma unroll
        for (int j = 0; j < S; j++) carry[j] = (carry[j] + gy * cP[r * NP + j * L]) * decay;
    }
    if (!valid) return;
    long long at = ((long long) s * chunks + k) * di + c;
    #pragma unroll
    for (int j = 0; j < S; j++) { int q = lane + j * L; if (q < n) outloc[at * n + q] = carry[j]; }
}
extern "C" {
SCAN_SL_VARIANTS(ssd_chunk_back_local, SSD_CHUNK_BLOCK, 1, (SSD_PARAMS, const float* dy, float* outloc), (SSD_ARGS, dy, outloc))

// Backward pass 2: carryIn_k, the carry entering chunk k from the one after it: carryIn_{K−1} = 0,
// carryIn_{k−1} = outloc_k + decayProd_k·carryIn_k; what leaves chunk 0 is dh0 (+=, may be null). Threads as ssd_chunk_carry.
__global__ void ssd_chunk_back_carry(int headDim, int nHeads, int n, int chunks, const float* outloc, const float* decayProd,
                                     float* carryIn, float* dh0) {
    long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x, dn = (long long) nHeads * headDim * n;
    int s = blockIdx.y;
    if (e >= dn) return;
    int h = (int) (e / ((long long) headDim * n));
    float v = 0.f;
    for (int k = chunks - 1; k >= 0; k--) {
        long long at = ((long long) s * chunks + k) * dn + e;
        carryIn[at] = v;
        v = outloc[at] + decayProd[((long long) s * chunks + k) * nHeads + h] * v;
    }
    if (dh0) dh0[s * dn + e] += v;
}

// Backward pass 3: every gradient of each chunk from its start state and carry, step for step as
// CpuSsdScanBackward. A block of SSD_BACKWARD_BLOCK threads takes one head of one chunk of SSD_CHUNK
// steps (grid (nHeads, b, chunks)) and walks the head's channels in rounds of SSD_BACKWARD_BLOCK/L.
// Per channel the chunk's states are recomputed into registers (the loops unroll, so hist[r] is a
// register), then walked in reverse with no block barrier. dB | dC are summed over a warp's channels
// with shuffles and over the block with shared-memory atomics, as is ∂L/∂dt; dB | dC go once per
// chunk into bcPartials (headsPerGroup, b·len, 2·nGroups·n) at the group's columns (B of every
// group, then C: xBC's column order from di), which scan_sum_partials adds up; ∂L/∂dtRaw and dx are
// complete in the block and added directly. Null gradients are not computed (dxBC, dDtRaw and
// bcPartials are required).
// Shared: dt, decay, ∂dt/∂dtRaw, ∂L/∂dt (SSD_CHUNK); x, dy (SSD_CHUNK, headDim); B, C, dB, dC (SSD_CHUNK, NP).
#define SSD_CHUNK 16
#define SSD_BACKWARD_BLOCK 256
}  // extern "C"
template <int S, int L> __device__ void ssd_chunk_backward_impl(const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol,
                                                                const float* dtBias, float dtMin, float dtMax, const float* A, int headDim,
                                                                int nGroups, int headsPerGroup, int n, int len, const float* D,
                                                                const float* start, const float* carryIn, const float* hOffset, const float* dy,
                                                                float* dxBC, float* dDtRaw, int dDtWidth, float* bcPartials, float* dDtBias,
                                                                float* dA, float* dD, float* dhOffset, float* dyOffset) {
    extern __shared__ float tile[];
    constexpr int PER_ROUND = SSD_BACKWARD_BLOCK / L, NP = S * L;
    int lane = threadIdx.x % L, h = blockIdx.x, nHeads = gridDim.x, di = nHeads * headDim;
    int g = h / headsPerGroup, s = blockIdx.y, k = blockIdx.z, chunks = gridDim.z, t0 = k * SSD_CHUNK;
    int steps = min(len, t0 + SSD_CHUNK) - t0, tileLen = SSD_CHUNK * headDim;
    long long row0 = (long long) s * len + t0;
    float *dtT = tile, *decT = dtT + SSD_CHUNK, *facT = decT + SSD_CHUNK, *gdtT = facT + SSD_CHUNK, *xT = gdtT + SSD_CHUNK;
    float *gT = xT + tileLen, *bT = gT + tileLen, *cT = bT + SSD_CHUNK * NP, *dbT = cT + SSD_CHUNK * NP, *dcT = dbT + SSD_CHUNK * NP;
    float a = A[h];
    ssd_stage_dt(dtT, decT, facT, dtRaw, dtWidth, dtCol, h, dtBias[h], dtMin, dtMax, a, row0, steps);
    stage(xT, xBC, conv, h * headDim, headDim, (h + 1) * headDim, row0, steps);
    stage(gT, dy, di, h * headDim, headDim, (h + 1) * headDim, row0, steps);
    stage_states(bT, NP, xBC, conv, di + g * n, n, NP, row0, steps);
    stage_states(cT, NP, xBC, conv, di + (nGroups + g) * n, n, NP, row0, steps);
    for (int idx = threadIdx.x; idx < 2 * SSD_CHUNK * NP; idx += blockDim.x) dbT[idx] = 0.f;
    for (int idx = threadIdx.x; idx < SSD_CHUNK; idx += blockDim.x) gdtT[idx] = 0.f;
    __syncthreads();
    const float *bP = bT + lane, *cP = cT + lane;
    float *dbP = dbT + lane, *dcP = dcT + lane;
    float d = D[h], gA = 0.f;
    for (int i0 = 0; i0 < headDim; i0 += PER_ROUND) {
        int i = i0 + threadIdx.x / L, c = h * headDim + i;
        bool valid = i < headDim;
        long long at = ((long long) s * chunks + k) * di + c;
        const float *xP = xT + (valid ? i : 0), *gP = gT + (valid ? i : 0);
        float hist[SSD_CHUNK][S], first[S], carry[S], off[S], gOff[S];
        #pragma unroll
        for (int j = 0; j < S; j++) {
            int q = lane + j * L;
            bool on = valid && q < n;
            first[j] = on ? start[at * n + q] : 0.f;   // zeros on channels past headDim, so their dB is 0
            carry[j] = on ? carryIn[at * n + q] : 0.f;
            off[j] = on && hOffset ? hOffset[(long long) c * n + q] : 0.f;
            gOff[j] = 0.f;
        }
        #pragma unroll
        for (int r = 0; r < SSD_CHUNK; r++) {   // the chunk's states h_t, from its start state
            if (r >= steps) break;
            float decay = decT[r], u = valid ? dtT[r] * xP[r * headDim] : 0.f;
            #pragma unroll
            for (int j = 0; j < S; j++) hist[r][j] = decay * (r > 0 ? hist[r > 0 ? r - 1 : 0][j] : first[j]) + u * bP[r * NP + j * L];
        }
        float gD = 0.f, gYo = 0.f;
        #pragma unroll
        for (int r = SSD_CHUNK - 1; r >= 0; r--) {
            if (r >= steps) continue;
            float dtv = dtT[r], decay = decT[r], xv = valid ? xP[r * headDim] : 0.f, gy = valid ? gP[r * headDim] : 0.f;
            float sB = 0.f, sA = 0.f, vB[S], vC[S];   // Σ grad·B, Σ grad·decay·h_{t−1}; this lane's dB_t, dC_t
            #pragma unroll
            for (int j = 0; j < S; j++) {
                float Bq = bP[r * NP + j * L], Cq = cP[r * NP + j * L];
                float hp = r > 0 ? hist[r > 0 ? r - 1 : 0][j] : first[j];
                float grad = carry[j] + gy * Cq;   // ∂L/∂h_t
                vC[j] = gy * (hist[r][j] + off[j]);  // dC_t
                vB[j] = grad * dtv * xv;             // dB_t
                gOff[j] += gy * Cq;
                sB += grad * Bq;
                sA += grad * hp;
                carry[j] = grad * decay;
            }
            float gx = dtv * sB, gdt = xv * sB + a * decay * sA;
            gA += dtv * decay * sA;
            #pragma unroll
            for (int m = L / 2; m > 0; m >>= 1) gx += __shfl_xor_sync(0xffffffff, gx, m, L);
            #pragma unroll
            for (int m = 1; m < 32; m <<= 1) gdt += __shfl_xor_sync(0xffffffff, gdt, m);   // over the warp's channels too
            #pragma unroll
            for (int j = 0; j < S; j++)   // over the warp's channels
                #pragma unroll
                for (int m = L; m < 32; m <<= 1) {
                    vB[j] += __shfl_xor_sync(0xffffffff, vB[j], m);
                    vC[j] += __shfl_xor_sync(0xffffffff, vC[j], m);
                }
            if (threadIdx.x % 32 < L)
                #pragma unroll
                for (int j = 0; j < S; j++)
                    if (lane + j * L < n) {
                        atomicAdd(dbP + r * NP + j * L, vB[j]);
                        atomicAdd(dcP + r * NP + j * L, vC[j]);
                    }
            if (threadIdx.x % 32 == 0) atomicAdd(gdtT + r, gdt);
            if (valid && lane == 0) dxBC[(row0 + r) * conv + c] += gx + d * gy;
            gD += gy * xv;
            gYo += gy;
        }
        if (!valid) continue;
        if (dhOffset)
            #pragma unroll
            for (int j = 0; j < S; j++) { int q = lane + j * L; if (q < n) atomicAdd(dhOffset + (long long) c * n + q, gOff[j]); }
        if (lane == 0) {
            if (dD) atomicAdd(dD + h, gD);
            if (dyOffset) atomicAdd(dyOffset + c, gYo);
        }
    }
    for (int m = 1; m < 32; m <<= 1) gA += __shfl_xor_sync(0xffffffff, gA, m);
    if (threadIdx.x % 32 == 0 && dA) atomicAdd(dA + h, gA);
    __syncthreads();
    int width = 2 * nGroups * n;
    float* part = bcPartials + ((long long) (h % headsPerGroup) * gridDim.y * len + row0) * width;
    for (int idx = threadIdx.x; idx < steps * n; idx += blockDim.x) {
        int r = idx / n, q = idx % n;
        part[(long long) r * width + g * n + q] = dbT[r * NP + q];
        part[(long long) r * width + (nGroups + g) * n + q] = dcT[r * NP + q];
    }
    float gBias = 0.f;
    for (int r = threadIdx.x; r < steps; r += blockDim.x) {
        float dPre = gdtT[r] * facT[r];
        dDtRaw[(row0 + r) * dDtWidth + dtCol + h] += dPre;
        gBias += dPre;
    }
    if (threadIdx.x < steps && dDtBias) atomicAdd(dDtBias + h, gBias);
}
extern "C" {
SCAN_SL_VARIANTS(ssd_chunk_backward, SSD_BACKWARD_BLOCK, 2, (const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol, const float* dtBias, float dtMin, float dtMax, const float* A, int headDim, int nGroups, int headsPerGroup, int n, int len, const float* D, const float* start, const float* carryIn, const float* hOffset, const float* dy, float* dxBC, float* dDtRaw, int dDtWidth, float* bcPartials, float* dDtBias, float* dA, float* dD, float* dhOffset, float* dyOffset), (xBC, conv, dtRaw, dtWidth, dtCol, dtBias, dtMin, dtMax, A, headDim, nGroups, headsPerGroup, n, len, D, start, carryIn, hOffset, dy, dxBC, dDtRaw, dDtWidth, bcPartials, dDtBias, dA, dD, dhOffset, dyOffset))

// gatedRmsNorm (transformers' MambaRMSNormGated, norm after gate): v = y ⊙ silu(z); out = v / sqrt(mean
// over its group of v² + eps) ⊙ weight, for y, out (T, w) and z (T, zWidth) read at [zCol, zCol+w).
// One block per (row, group): grid (T, w / groupSize), block 256.
__global__ void gated_rms_norm(const float* y, const float* z, int zWidth, int zCol, const float* weight, int w, int groupSize,
                               float eps, float* out) {
    __shared__ float sm[32];
    long long base = (long long) blockIdx.x * w, zBase = (long long) blockIdx.x * zWidth + zCol;
    int c0 = blockIdx.y * groupSize;
    float sq = 0.f;
    for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
        float zv = z[zBase + c], v = y[base + c] * zv * ssd_sigmoid(zv);
        sq += v * v;
    }
    float inv = rsqrtf(ssd_block_sum(sq, sm) / groupSize + eps);
    for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
        float zv = z[zBase + c], v = y[base + c] * zv * ssd_sigmoid(zv);
        out[base + c] = weight[c] * (v * inv);
    }
}

// gatedRmsNormBackward: with r = 1/sqrt(mean(v²) + eps) over the group, dv = r·weight⊙g − v·r³·(Σ weight⊙g⊙v)/groupSize;
// dy += dv ⊙ silu(z), dz += dv ⊙ y ⊙ silu′(z) (dz laid out as z), dWeight's share g⊙v·r summed over
// the block's rows into dwPartials (gridDim.x, w), which scan_sum_partials adds up. dy, dz, dwPartials
// may be null. Blocks take consecutive rows (gridDim.x ≤ rows: one each without dwPartials); grid
// (blocks, w / groupSize), block 256.
__global__ void gated_rms_norm_backward(const float* y, const float* z, int zWidth, int zCol, const float* weight, int w,
                                        int groupSize, float eps, int rows, const float* dOut, float* dy, float* dz, float* dwPartials) {
    __shared__ float sm[32];
    int c0 = blockIdx.y * groupSize;
    int r0 = (int) ((long long) blockIdx.x * rows / gridDim.x), r1 = (int) ((long long) (blockIdx.x + 1) * rows / gridDim.x);
    for (int r = r0; r < r1; r++) {
        long long base = (long long) r * w, zBase = (long long) r * zWidth + zCol;
        float sq = 0.f, dot = 0.f;
        for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
            float zv = z[zBase + c], v = y[base + c] * zv * ssd_sigmoid(zv);
            sq += v * v;
            dot += weight[c] * dOut[base + c] * v;
        }
        float rr = rsqrtf(ssd_block_sum(sq, sm) / groupSize + eps), total = ssd_block_sum(dot, sm);
        for (int c = c0 + threadIdx.x; c < c0 + groupSize; c += blockDim.x) {
            float zv = z[zBase + c], yv = y[base + c], sig = ssd_sigmoid(zv), v = yv * zv * sig, gv = dOut[base + c];
            float dv = rr * weight[c] * gv - v * rr * rr * rr * total / groupSize;
            if (dwPartials) {
                float* p = dwPartials + (long long) blockIdx.x * w + c;
                *p = (r == r0 ? 0.f : *p) + gv * v * rr;
            }
            if (dy) dy[base + c] += dv * zv * sig;
            if (dz) dz[zBase + c] += dv * yv * sig * (1.f + zv * (1.f - sig));
        }
    }
}

}
