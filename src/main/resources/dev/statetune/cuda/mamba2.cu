// statetune's CUDA kernels for Mamba-2 (the Backend ops ssdScan, gatedRmsNorm and their backwards),
// compiled by NVRTC as one unit after kernels.cu (Kernels concatenates them: names are shared, so
// these start with ssd_ / gated_). Layouts as in backend/Backend.java: xBC (b·len, convDim) holds
// x (nHeads × headDim) | B (nGroups × n) | C (nGroups × n); head h reads group h / headsPerGroup.

extern "C" {

#define SSD_MAX_STATE_PER_LANE 8

__device__ __forceinline__ float ssd_sigmoid(float v) { return 1.f / (1.f + expf(-v)); }

// torch's softplus (threshold 20), as CpuMath.softplus.
__device__ __forceinline__ float ssd_softplus(float v) { return v > 20.f ? v : log1pf(expf(v)); }

// The sum of v over the block (blockDim.x a power of two), returned to every thread; sm holds blockDim.x floats.
__device__ float ssd_block_sum(float v, float* sm) {
    sm[threadIdx.x] = v;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) sm[threadIdx.x] += sm[threadIdx.x + stride];
        __syncthreads();
    }
    float total = sm[0];
    __syncthreads();   // sm is free for the next sum
    return total;
}

// ssdScan as the recurrence it equals (PAPER_NOTES' Mamba-2 analogue, with the State-offset seams):
//   dt_t = clamp(softplus(dtRaw_t + dtBias_h), dtMin, dtMax);  h_t = exp(dt_t·A_h)·h_{t−1} + dt_t·x_t B_tᵀ;
//   y_t = (h_t + h′)·C_t + D_h·x_t + y′.
// `lanes` threads (a power of two ≤ 32) share the n states of one channel c = h·headDim + i (lane,
// lane+lanes, …); C·h is summed with warp shuffles; sequential over time. block 128 = 128/lanes
// channels; grid (ceil(di / (128/lanes)), b). state (b, nHeads, headDim, n) is read as h_0 and
// written back as h_len; hOffset (nHeads, headDim, n) and yOffset (nHeads, headDim) may be null.
__global__ void ssd_scan(const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol, const float* dtBias,
                         float dtMin, float dtMax, const float* A, const float* D, int headDim, int nGroups, int headsPerGroup,
                         int n, int di, int len, int lanes, float* state, const float* hOffset, const float* yOffset, float* y) {
    int lane = threadIdx.x % lanes, perBlock = blockDim.x / lanes;
    int c = blockIdx.x * perBlock + threadIdx.x / lanes, s = blockIdx.y;
    bool valid = c < di;
    int cc = valid ? c : 0, h = cc / headDim, g = h / headsPerGroup;
    float st[SSD_MAX_STATE_PER_LANE], off[SSD_MAX_STATE_PER_LANE];
    float* hs = state + ((long long) s * di + cc) * n;
    #pragma unroll
    for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
        int k = lane + j * lanes;
        st[j] = k < n ? hs[k] : 0.f;
        off[j] = k < n && hOffset ? hOffset[(long long) cc * n + k] : 0.f;
    }
    float a = A[h], d = D[h], bias = dtBias[h], yo = yOffset ? yOffset[cc] : 0.f;
    for (int t = 0; t < len; t++) {
        long long row = (long long) s * len + t;
        float dtv = fminf(fmaxf(ssd_softplus(dtRaw[row * dtWidth + dtCol + h] + bias), dtMin), dtMax);
        float xv = xBC[row * conv + cc], decay = expf(dtv * a);
        const float* B = xBC + row * conv + di + g * n;
        const float* C = B + nGroups * n;
        float part = 0.f;
        #pragma unroll
        for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
            int k = lane + j * lanes;
            if (k < n) {
                st[j] = decay * st[j] + dtv * xv * B[k];
                part += C[k] * (st[j] + off[j]);
            }
        }
        for (int m = lanes / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, lanes);
        if (valid && lane == 0) y[row * di + cc] = part + d * xv + yo;
    }
    if (valid)
        #pragma unroll
        for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
            int k = lane + j * lanes;
            if (k < n) hs[k] = st[j];
        }
}

// ssdScanBackward: the reverse scan of CpuSsdScanBackward, whose carry dh_t = dy_t C_tᵀ + exp(dt_{t+1}·A_h)·dh_{t+1}
// feeds every gradient; dt's passes back through the clamp (zero where it clamped) and the softplus.
// Threads as ssd_scan, but every block holds channels of one head: blockIdx.x = h·blocksPerHead + the
// block within the head (channels past headDim idle along); grid (nHeads·blocksPerHead, b).
// The states are not kept for the whole sequence: a first walk stores the state entering each chunk
// of `chunk` steps in bounds (b, chunks, di, n); then chunk by chunk from the last, the chunk's states
// are recomputed into hist (b, chunk, di, n) and walked backwards.
// Per step the block sums its channels' dB | dC into bcPartials (headsPerGroup·blocksPerHead, b·len,
// 2·nGroups·n) at the group's columns (B of every group, then C: xBC's column order from di), and
// its share of ∂L/∂dtRaw into dtPartials (blocksPerHead, b·len, nHeads); scan_sum_partials adds them
// up, so no two blocks write one address. Per-head and per-channel parameter gradients are added
// once per thread at the end. Null gradients are not computed (dxBC and the partials are required).
__global__ void ssd_scan_backward(const float* xBC, int conv, const float* dtRaw, int dtWidth, int dtCol, const float* dtBias,
                                  float dtMin, float dtMax, const float* A, const float* D, int headDim, int nGroups, int headsPerGroup,
                                  int n, int len, int lanes, int chunk, const float* h0, float* bounds, float* hist,
                                  const float* hOffset, const float* dy, float* dxBC, float* bcPartials, float* dtPartials,
                                  float* dDtBias, float* dA, float* dD, float* dh0, float* dhOffset, float* dyOffset) {
    extern __shared__ float shared[];   // (perBlock, 2n): this step's dB | dC per channel, then (perBlock) its ∂L/∂dt
    int lane = threadIdx.x % lanes, perBlock = blockDim.x / lanes, local = threadIdx.x / lanes;
    int blocksPerHead = (headDim + perBlock - 1) / perBlock, sub = blockIdx.x % blocksPerHead;
    int h = blockIdx.x / blocksPerHead, nHeads = gridDim.x / blocksPerHead, di = nHeads * headDim;
    int i = sub * perBlock + local, s = blockIdx.y, batch = gridDim.y, g = h / headsPerGroup;
    int chunks = (len + chunk - 1) / chunk;
    bool valid = i < headDim;
    int c = h * headDim + (valid ? i : 0);
    long long rows = (long long) batch * len;
    float* ddtShared = shared + perBlock * 2 * n;
    float st[SSD_MAX_STATE_PER_LANE], off[SSD_MAX_STATE_PER_LANE], carry[SSD_MAX_STATE_PER_LANE], gOff[SSD_MAX_STATE_PER_LANE];
    #pragma unroll
    for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
        int k = lane + j * lanes;
        bool on = valid && k < n;
        st[j] = on && h0 ? h0[((long long) s * di + c) * n + k] : 0.f;
        off[j] = on && hOffset ? hOffset[(long long) c * n + k] : 0.f;
        carry[j] = 0.f;
        gOff[j] = 0.f;
    }
    float a = A[h], d = D[h], bias = dtBias[h];
    // pass 1: the state entering each chunk
    for (int q = 0; q < chunks; q++) {
        float* bound = bounds + (((long long) s * chunks + q) * di + c) * n;
        #pragma unroll
        for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
            int k = lane + j * lanes;
            if (valid && k < n) bound[k] = st[j];
        }
        for (int t = q * chunk; t < min(len, (q + 1) * chunk); t++) {
            long long row = (long long) s * len + t;
            float dtv = fminf(fmaxf(ssd_softplus(dtRaw[row * dtWidth + dtCol + h] + bias), dtMin), dtMax);
            float xv = xBC[row * conv + c], decay = expf(dtv * a);
            const float* B = xBC + row * conv + di + g * n;
            #pragma unroll
            for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
                int k = lane + j * lanes;
                if (k < n) st[j] = decay * st[j] + dtv * xv * B[k];
            }
        }
    }
    // pass 2: chunks in reverse, each recomputed, then walked backwards
    float gA = 0.f, gD = 0.f, gYo = 0.f, gBias = 0.f;
    int width = 2 * nGroups * n, part = (h % headsPerGroup) * blocksPerHead + sub;
    for (int q = chunks - 1; q >= 0; q--) {
        int t0 = q * chunk, l = min(len - t0, chunk);
        const float* bound = bounds + (((long long) s * chunks + q) * di + c) * n;
        #pragma unroll
        for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
            int k = lane + j * lanes;
            st[j] = valid && k < n ? bound[k] : 0.f;
        }
        for (int u = 0; u < l; u++) {
            long long row = (long long) s * len + t0 + u;
            float dtv = fminf(fmaxf(ssd_softplus(dtRaw[row * dtWidth + dtCol + h] + bias), dtMin), dtMax);
            float xv = xBC[row * conv + c], decay = expf(dtv * a);
            const float* B = xBC + row * conv + di + g * n;
            float* at = hist + (((long long) s * chunk + u) * di + c) * n;
            #pragma unroll
            for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
                int k = lane + j * lanes;
                if (k < n) {
                    st[j] = decay * st[j] + dtv * xv * B[k];
                    if (valid) at[k] = st[j];
                }
            }
        }
        for (int u = l - 1; u >= 0; u--) {
            long long row = (long long) s * len + t0 + u;
            float pre = dtRaw[row * dtWidth + dtCol + h] + bias, sp = ssd_softplus(pre);
            float dtv = fminf(fmaxf(sp, dtMin), dtMax), xv = xBC[row * conv + c], decay = expf(dtv * a);
            float gy = valid ? dy[row * di + c] : 0.f;
            const float* B = xBC + row * conv + di + g * n;
            const float* C = B + nGroups * n;
            const float* hCur = hist + (((long long) s * chunk + u) * di + c) * n;
            const float* hPrev = u > 0 ? hist + (((long long) s * chunk + u - 1) * di + c) * n : bound;
            float gx = 0.f, gdt = 0.f;
            #pragma unroll
            for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
                int k = lane + j * lanes;
                if (k < n) {
                    float hc = valid ? hCur[k] : 0.f, hp = valid ? hPrev[k] : 0.f;
                    float grad = carry[j] + gy * C[k];   // ∂L/∂h_t
                    shared[local * 2 * n + n + k] = gy * (hc + off[j]);   // dC_t
                    shared[local * 2 * n + k] = grad * dtv * xv;          // dB_t
                    gOff[j] += gy * C[k];
                    gx += grad * dtv * B[k];
                    gdt += grad * (xv * B[k] + a * decay * hp);
                    gA += grad * dtv * decay * hp;
                    carry[j] = grad * decay;
                }
            }
            for (int m = lanes / 2; m > 0; m >>= 1) {
                gx += __shfl_xor_sync(0xffffffff, gx, m, lanes);
                gdt += __shfl_xor_sync(0xffffffff, gdt, m, lanes);
            }
            if (lane == 0) {
                ddtShared[local] = gdt;
                if (valid) dxBC[row * conv + c] += gx + d * gy;
            }
            gD += gy * xv;
            gYo += gy;
            __syncthreads();
            for (int k = threadIdx.x; k < 2 * n; k += blockDim.x) {
                float sum = 0.f;
                for (int p = 0; p < perBlock; p++) sum += shared[p * 2 * n + k];
                int col = k < n ? g * n + k : (nGroups + g) * n + k - n;
                bcPartials[((long long) part * rows + row) * width + col] = sum;
            }
            if (threadIdx.x == 0) {
                float sum = 0.f;
                for (int p = 0; p < perBlock; p++) sum += ddtShared[p];
                float dPre = sp < dtMin || sp > dtMax ? 0.f : sum * (pre > 20.f ? 1.f : ssd_sigmoid(pre));
                dtPartials[((long long) sub * rows + row) * nHeads + h] = dPre;
                gBias += dPre;
            }
            __syncthreads();
        }
    }
    if (threadIdx.x == 0 && dDtBias) atomicAdd(dDtBias + h, gBias);
    for (int m = lanes / 2; m > 0; m >>= 1) gA += __shfl_xor_sync(0xffffffff, gA, m, lanes);
    if (!valid) return;
    #pragma unroll
    for (int j = 0; j < SSD_MAX_STATE_PER_LANE; j++) {
        int k = lane + j * lanes;
        if (k < n) {
            if (dh0) dh0[((long long) s * di + c) * n + k] += carry[j];
            if (dhOffset) atomicAdd(dhOffset + (long long) c * n + k, gOff[j]);
        }
    }
    if (lane == 0) {
        if (dA) atomicAdd(dA + h, gA);
        if (dD) atomicAdd(dD + h, gD);
        if (dyOffset) atomicAdd(dyOffset + c, gYo);
    }
}

// gatedRmsNorm (transformers' MambaRMSNormGated, norm after gate): v = y ⊙ silu(z); out = v / sqrt(mean
// over its group of v² + eps) ⊙ weight, for y, out (T, w) and z (T, zWidth) read at [zCol, zCol+w).
// One block per (row, group): grid (T, w / groupSize), block 256.
__global__ void gated_rms_norm(const float* y, const float* z, int zWidth, int zCol, const float* weight, int w, int groupSize,
                               float eps, float* out) {
    __shared__ float sm[256];
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
// may be null. Blocks take consecutive rows (gridDim.x ≤ rows); grid (blocks, w / groupSize), block 256.
__global__ void gated_rms_norm_backward(const float* y, const float* z, int zWidth, int zCol, const float* weight, int w,
                                        int groupSize, float eps, int rows, const float* dOut, float* dy, float* dz, float* dwPartials) {
    __shared__ float sm[256];
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
