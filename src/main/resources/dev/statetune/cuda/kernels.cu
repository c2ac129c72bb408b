// statetune's CUDA kernels for the Mamba forward (Backend ops), compiled at first use by NVRTC.
// Activations are float32 row-major (T, width) with T = batch·len rows, sequence-major, as in
// backend/Backend.java; each kernel's comment names the op it implements.

extern "C" {

// embedding: out (T, d) = table[ids] for table (vocab, d). grid (T), block 256.
__global__ void embedding(const int* ids, const float* table, float* out, int d) {
    int t = blockIdx.x;
    const float* row = table + (long long) ids[t] * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) out[(long long) t * d + c] = row[c];
}

// rmsNorm: out (T, d) = x / sqrt(mean(x²) + eps) ⊙ w. grid (T), block 256.
__global__ void rms_norm(const float* x, const float* w, float eps, float* out, int d) {
    __shared__ float partial[256];
    long long base = (long long) blockIdx.x * d;
    float s = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) s += x[base + c] * x[base + c];
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    float inv = rsqrtf(partial[0] / d + eps);
    for (int c = threadIdx.x; c < d; c += blockDim.x) out[base + c] = x[base + c] * inv * w[c];
}

// copyColumns: dst (T, w) = src[:, col : col+w] for src (T, srcWidth). 1-D grid over T·w.
__global__ void copy_columns(const float* src, int srcWidth, int col, float* dst, int w, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[(i / w) * srcWidth + col + i % w];
}

// addScaledColumns: dst[:, col : col+w] += scale · src (T, w) for dst (T, dstWidth).
__global__ void add_scaled_columns(float* dst, int dstWidth, int col, const float* src, int w, float scale, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[(i / w) * dstWidth + col + i % w] += scale * src[i];
}

// addInPlace: acc += x, elementwise.
__global__ void add_in_place(float* acc, const float* x, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) acc[i] += x[i];
}

// multiplyInPlace: acc ⊙= x, elementwise.
__global__ void multiply_in_place(float* acc, const float* x, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) acc[i] *= x[i];
}

// out (T, width) += bias (width), the bias of linear.
__global__ void add_bias(float* out, const float* bias, int width, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] += bias[i % width];
}

// softplusInPlace, torch's threshold: x > 20 stays x.
__global__ void softplus_in_place(float* x, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = x[i] > 20.f ? x[i] : log1pf(expf(x[i]));
}

// bf16 (stored weights) → float32, elementwise.
__global__ void bf16_to_float(const unsigned short* src, float* dst, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __uint_as_float(((unsigned int) src[i]) << 16);
}

__device__ __forceinline__ float silu(float v) { return v / (1.f + expf(-v)); }

#define MAX_CONV 8
// causalConv1dSilu over x = in[:, 0:di] of in (b·len, inWidth): out (b·len, di) = silu(conv(x) + bias);
// state (b, di, k−1) holds the k−1 inputs before the first position and is updated to the last k−1.
// One thread per (sequence, channel), walking the sequence. grid (ceil(di/128), b), block 128.
__global__ void causal_conv1d_silu(const float* in, int inWidth, int len, const float* weight, const float* bias,
                                   float* state, float* out, int di, int k) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (c >= di) return;
    float window[MAX_CONV], w[MAX_CONV];
    float* st = state + ((long long) s * di + c) * (k - 1);
    for (int j = 0; j < k - 1; j++) window[j] = st[j];
    for (int j = 0; j < k; j++) w[j] = weight[c * k + j];
    float b = bias ? bias[c] : 0.f;
    for (int t = 0; t < len; t++) {
        long long row = (long long) s * len + t;
        window[k - 1] = in[row * inWidth + c];
        float v = b;
        for (int j = 0; j < k; j++) v += w[j] * window[j];
        out[row * di + c] = silu(v);
        for (int j = 0; j < k - 1; j++) window[j] = window[j + 1];
    }
    for (int j = 0; j < k - 1; j++) st[j] = window[j];
}

#define MAX_STATE_PER_LANE 8
// selectiveScan (PAPER_NOTES' Mamba-1 recurrence with the State-offset seams):
//   h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·x_t;  y_t = (C_t·(h_t + h′) + D ⊙ x_t + y′) ⊙ silu(z_t).
// `lanes` threads (a power of two ≤ 32) share one channel's n states, each holding states lane,
// lane+lanes, …; C·h is summed across them with warp shuffles. block 128 = 128/lanes channels;
// grid (ceil(di / (128/lanes)), b). state (b, di, n) is read as h_0 and written back as h_len.
__global__ void selective_scan(const float* x, const float* dt, const float* A, const float* bc, int bcWidth, int bCol,
                               const float* D, const float* z, int zWidth, int zCol, int len, int di, int n, int lanes,
                               float* state, const float* hOffset, const float* yOffset, float* y) {
    int lane = threadIdx.x % lanes, perBlock = blockDim.x / lanes;
    int c = blockIdx.x * perBlock + threadIdx.x / lanes, s = blockIdx.y;
    bool valid = c < di;
    int cc = valid ? c : 0;
    float h[MAX_STATE_PER_LANE], a[MAX_STATE_PER_LANE], off[MAX_STATE_PER_LANE];
    float* st = state + ((long long) s * di + cc) * n;
    #pragma unroll
    for (int j = 0; j < MAX_STATE_PER_LANE; j++) {
        int i = lane + j * lanes;
        bool on = i < n;
        h[j] = on ? st[i] : 0.f;
        a[j] = on ? A[cc * n + i] : 0.f;
        off[j] = on && hOffset ? hOffset[cc * n + i] : 0.f;
    }
    float d = D[cc], yo = yOffset ? yOffset[cc] : 0.f;
    for (int t = 0; t < len; t++) {
        long long row = (long long) s * len + t;
        float dtv = dt[row * di + cc], xv = x[row * di + cc];
        const float* B = bc + row * bcWidth + bCol;
        const float* C = B + n;
        float part = 0.f;
        #pragma unroll
        for (int j = 0; j < MAX_STATE_PER_LANE; j++) {
            int i = lane + j * lanes;
            if (i < n) {
                h[j] = expf(dtv * a[j]) * h[j] + dtv * B[i] * xv;
                part += C[i] * (h[j] + off[j]);
            }
        }
        for (int m = lanes / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, lanes);
        if (valid && lane == 0) y[row * di + cc] = (part + d * xv + yo) * silu(z[row * zWidth + zCol + cc]);
    }
    if (valid)
        #pragma unroll
        for (int j = 0; j < MAX_STATE_PER_LANE; j++) {
            int i = lane + j * lanes;
            if (i < n) st[i] = h[j];
        }
}

}
