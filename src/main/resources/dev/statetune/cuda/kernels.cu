// statetune's CUDA kernels for the Mamba forward (Backend ops), compiled at first use by NVRTC.
// Activations are float32 row-major (T, width) with T = batch·len rows, sequence-major, as in
// backend/Backend.java (but for Backend.allocateKept's tensors and their gradients, which may be bf16: the kernels'
// _bf16 / _zbf16 variants); each kernel's comment names the op it implements.

extern "C" {

// embedding: out (T, d) = table[ids] for table (vocab, d). grid (T), block 256.
__global__ void embedding(const int* ids, const float* table, float* out, int d) {
    int t = blockIdx.x;
    const float* row = table + (long long) ids[t] * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) out[(long long) t * d + c] = row[c];
}

// The largest value of row (width) and its first index, for a block of 256 threads (all must call it).
__device__ void block_argmax(const float* row, int width, float* max, int* argmax) {
    __shared__ float sm[256];
    __shared__ int si[256];
    float m = -__int_as_float(0x7f800000);   // −∞ (NVRTC has no math.h)
    int arg = 0x7fffffff;
    for (int v = threadIdx.x; v < width; v += blockDim.x)
        if (row[v] > m) { m = row[v]; arg = v; }
    sm[threadIdx.x] = m;
    si[threadIdx.x] = arg;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            float o = sm[threadIdx.x + stride];
            int oi = si[threadIdx.x + stride];
            if (o > sm[threadIdx.x] || (o == sm[threadIdx.x] && oi < si[threadIdx.x])) { sm[threadIdx.x] = o; si[threadIdx.x] = oi; }
        }
        __syncthreads();
    }
    *max = sm[0];
    *argmax = si[0];
    __syncthreads();
}

// argmaxRows: ids[r] = the first index of the largest value of row r of x (rows, width), in two passes so that a few rows
// of a whole vocabulary spread over the GPU. argmax_parts: block (r, p) takes columns [p·span, (p+1)·span) of row r, into
// partMax, partArg (rows, parts); grid (rows, parts), block 256. argmax_finish: a thread a row takes the parts in order.
__global__ void argmax_parts(const float* x, int width, int span, float* partMax, int* partArg) {
    int from = blockIdx.y * span, to = min(width, from + span);
    float best;
    int arg;
    block_argmax(x + (long long) blockIdx.x * width + from, max(0, to - from), &best, &arg);
    if (threadIdx.x == 0) {
        partMax[blockIdx.x * gridDim.y + blockIdx.y] = best;
        partArg[blockIdx.x * gridDim.y + blockIdx.y] = from + arg;
    }
}

__global__ void argmax_finish(const float* partMax, const int* partArg, int rows, int parts, int* ids) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    float best = partMax[r * parts];
    int arg = partArg[r * parts];
    for (int p = 1; p < parts; p++)
        if (partMax[r * parts + p] > best) { best = partMax[r * parts + p]; arg = partArg[r * parts + p]; }
    ids[r] = arg;
}

// embedding from a bf16 table (vocab, d).
__global__ void embedding_bf16(const int* ids, const unsigned short* table, float* out, int d) {
    int t = blockIdx.x;
    const unsigned short* row = table + (long long) ids[t] * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) out[(long long) t * d + c] = __uint_as_float(((unsigned int) row[c]) << 16);
}

// dst (rows, cols) = bf16(src[:, col : col+cols]) of src (rows, srcWidth), rounded to nearest even: the
// GEMM operand of --dtype bf16. grid (ceil(cols / blockDim), up to 65535 rows at a time).
__device__ __forceinline__ unsigned int bf16_bits(float v) {
    unsigned int b = __float_as_uint(v);
    return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
}

__global__ void to_bf16(const float* src, long long srcWidth, int col, unsigned short* dst, long long cols, long long rows) {
    long long q = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= cols) return;
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) dst[r * cols + q] = (unsigned short) bf16_bits(src[r * srcWidth + col + q]);
}

// to_bf16 four columns a thread (16-byte loads, 8-byte stores), where srcWidth, col and cols are multiples of 4 and the
// buffers aligned: grid (ceil(cols / 4 / blockDim), rows).
__global__ void to_bf16_x4(const float* src, long long srcWidth, int col, unsigned short* dst, long long cols, long long rows) {
    long long q = 4 * ((long long) blockIdx.x * blockDim.x + threadIdx.x);
    if (q >= cols) return;
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) {
        float4 v = *reinterpret_cast<const float4*>(src + r * srcWidth + col + q);
        *reinterpret_cast<uint2*>(dst + r * cols + q) = make_uint2(bf16_bits(v.x) | bf16_bits(v.y) << 16, bf16_bits(v.z) | bf16_bits(v.w) << 16);
    }
}

// rmsNorm: out (T, d) = x / sqrt(mean(x²) + eps) ⊙ w. grid (T), block 256.
// out16 (may be null), here and in the kernels below: a bf16 copy of out for a linear to read (CudaBackend's Bf16Copies).
// rms_norm_row norms row blockIdx.x of x + add (add may be null), writing that sum back to x when add is given. A thread
// keeps its NORM_SPAN columns of the row in registers (d ≤ NORM_SPAN·256); a wider row is read again for each pass.
#define NORM_SPAN 16
__device__ __forceinline__ void rms_norm_row(float* x, const float* add, const float* w, float eps, float* out, unsigned short* out16, int d) {
    __shared__ float warpSums[8];
    long long base = (long long) blockIdx.x * d;
    bool held = d <= NORM_SPAN * (int) blockDim.x;
    float v[NORM_SPAN], s = 0.f;
    if (held) {
        #pragma unroll
        for (int j = 0; j < NORM_SPAN; j++) {
            int c = threadIdx.x + j * blockDim.x;
            v[j] = c < d ? x[base + c] + (add ? add[base + c] : 0.f) : 0.f;
            if (add && c < d) x[base + c] = v[j];
            s += v[j] * v[j];
        }
    } else {
        for (int c = threadIdx.x; c < d; c += blockDim.x) {
            float r = x[base + c] + (add ? add[base + c] : 0.f);
            if (add) x[base + c] = r;
            s += r * r;
        }
    }
    for (int m = 16; m > 0; m >>= 1) s += __shfl_xor_sync(0xffffffff, s, m);
    if (threadIdx.x % 32 == 0) warpSums[threadIdx.x / 32] = s;
    __syncthreads();
    float total = 0.f;
    for (int k = 0; k < (int) blockDim.x / 32; k++) total += warpSums[k];
    float inv = rsqrtf(total / d + eps);
    #pragma unroll
    for (int j = 0; j < NORM_SPAN; j++) {
        int c = threadIdx.x + j * blockDim.x;
        if (!held || c >= d) break;
        float o = v[j] * inv * w[c];
        out[base + c] = o;
        if (out16) out16[base + c] = (unsigned short) bf16_bits(o);
    }
    if (held) return;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {   // its own columns: written above by this thread
        float o = x[base + c] * inv * w[c];
        out[base + c] = o;
        if (out16) out16[base + c] = (unsigned short) bf16_bits(o);
    }
}

__global__ void rms_norm(const float* x, const float* w, float eps, float* out, unsigned short* out16, int d) {
    rms_norm_row(const_cast<float*>(x), nullptr, w, eps, out, out16, d);   // without add, x is only read
}

// addRmsNorm: residual (T, d) += add, then out = rmsNorm(residual) as rms_norm computes it (same sums, same order).
// grid (T), block 256.
__global__ void add_rms_norm(float* residual, const float* add, const float* w, float eps, float* out, unsigned short* out16, int d) {
    rms_norm_row(residual, add, w, eps, out, out16, d);
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

// negExp: A = −exp(A_log), exp in double and rounded once, as the CPU's (float) -Math.exp.
__global__ void neg_exp(const float* src, float* dst, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = (float) -exp((double) src[i]);
}

// torch's softplus (threshold: x > 20 stays x) and its slope, sigmoid(x) (1 above the threshold): the selective scans take
// dt before the softplus (as mamba_ssm's delta_softplus) and return its gradient there.
__device__ __forceinline__ float softplus_of(float v) { return v > 20.f ? v : log1pf(expf(v)); }
__device__ __forceinline__ float softplus_slope(float v) { return v > 20.f ? 1.f : 1.f / (1.f + expf(-v)); }

// bf16 (stored weights) → float32, elementwise.
__global__ void bf16_to_float(const unsigned short* src, float* dst, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __uint_as_float(((unsigned int) src[i]) << 16);
}

// dropout: the CPU backend's draws, java.util.SplittableRandom(seed).nextFloat() in order, for seed = *stepSeed + salt
// (wrapping as Java's long): draw i is mix32(seed + (i+1)·γ) >>> 8, times 2⁻²⁴. m = 0 or 1/(1−p) to mask (may be null);
// out (T, w) = m ⊙ src[:, col : col+w] (out may be src, col 0: each element is read before it is written).
__global__ void dropout(const float* src, int srcWidth, int col, float* out, int w, float* mask, float p, const unsigned long long* stepSeed,
                        unsigned long long salt, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long seed = *stepSeed + salt;
    unsigned long long z = seed + (unsigned long long) (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 33)) * 0x62a9d9ed799705f5ULL;
    unsigned int r = (unsigned int) (((z ^ (z >> 28)) * 0xcb24d0a5c88c35b3ULL) >> 32);
    float u = (float) (r >> 8) * 5.9604645e-08f;   // 2⁻²⁴
    float m = u < p ? 0.f : 1.f / (1.f - p);
    if (mask) mask[i] = m;
    out[i] = src[(i / w) * srcWidth + col + i % w] * m;
}

__device__ __forceinline__ float silu(float v) { return v / (1.f + expf(-v)); }

#define MAX_CONV 8
}  // extern "C"
// An activation's value from either of its storage types: float32, or bf16 bits (a training forward's in_proj output,
// Backend.allocateKept; the _bf16 / _zbf16 kernel variants read it so).
__device__ __forceinline__ float as_float(float v) { return v; }
__device__ __forceinline__ float as_float(unsigned short v) { return __uint_as_float(((unsigned int) v) << 16); }
// *p += v in p's storage type (a gradient of an allocateKept tensor is bf16 where the tensor is: rounded once per add).
__device__ __forceinline__ void add_to(float* p, float v) { *p += v; }
__device__ __forceinline__ void add_to(unsigned short* p, float v) { *p = (unsigned short) bf16_bits(as_float(*p) + v); }
// Element i of an activation held in float32 or, with half, as bf16 bits (allocateKept's), where a kernel takes either at run time;
// and += into it (its gradient, allocateKeptGradient's, is of its type).
__device__ __forceinline__ float load_either(const void* p, int half, long long i) {
    return half ? as_float(static_cast<const unsigned short*>(p)[i]) : static_cast<const float*>(p)[i];
}
__device__ __forceinline__ void add_either(void* p, int half, long long i, float v) {
    if (half) add_to(static_cast<unsigned short*>(p) + i, v);
    else static_cast<float*>(p)[i] += v;
}

// The conv input at position p of sequence s: x = in[:, 0:di] for p ≥ 0, else the state's entry (zeros without one).
template <typename T> __device__ __forceinline__ float conv_input(const T* in, int inWidth, int len, const float* state, int di, int k, int s,
                                                                  int c, int p) {
    if (p >= 0) return as_float(in[((long long) s * len + p) * inWidth + c]);
    return state ? state[((long long) s * di + c) * (k - 1) + (k - 1 + p)] : 0.f;
}
extern "C" {

// causalConv1dSilu over x = in[:, 0:di] of in (b·len, inWidth): out (b·len, di) = silu(conv(x) + bias),
// the K−1 inputs before the first position from state (b, di, K−1). One thread per (sequence, channel,
// chunk of chunkLen positions); with one chunk (a decode step, a short prompt) the thread also moves
// the state on, else conv_state_update does. grid (ceil(di/128), b, chunks), block 128. A template on
// the width K (causal_conv1d_silu_k2 … _k8), so the window lives in registers, and on in's type T (float, or bf16: _bf16).
}  // extern "C"
template <int K, typename T> __device__ void causal_conv1d_silu_impl(const void* input, int inWidth, int len, const float* weight,
                                                                     const float* bias, float* state, float* out, unsigned short* out16,
                                                                     int di, int chunkLen) {
    const T* in = static_cast<const T*>(input);
    int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y, t0 = blockIdx.z * chunkLen, t1 = min(len, t0 + chunkLen);
    if (c >= di) return;
    float window[K], w[K];
    #pragma unroll
    for (int j = 0; j < K; j++) w[j] = weight[c * K + j];
    #pragma unroll
    for (int j = 0; j < K - 1; j++) window[j] = conv_input(in, inWidth, len, state, di, K, s, c, t0 - (K - 1) + j);
    float b = bias ? bias[c] : 0.f;
    for (int t = t0; t < t1; t++) {
        long long row = (long long) s * len + t;
        window[K - 1] = as_float(in[row * inWidth + c]);
        float v = b;
        #pragma unroll
        for (int j = 0; j < K; j++) v += w[j] * window[j];
        out[row * di + c] = silu(v);
        if (out16) out16[row * di + c] = (unsigned short) bf16_bits(silu(v));
        #pragma unroll
        for (int j = 0; j < K - 1; j++) window[j] = window[j + 1];
    }
    if (gridDim.z > 1 || !state) return;
    float next[K];   // the last K−1 inputs, reaching back into the old state when len < K−1: all read before any is written
    #pragma unroll
    for (int j = 0; j < K - 1; j++) next[j] = conv_input(in, inWidth, len, state, di, K, s, c, len - (K - 1) + j);
    #pragma unroll
    for (int j = 0; j < K - 1; j++) state[((long long) s * di + c) * (K - 1) + j] = next[j];
}
// The kernels name_k2 … name_k8 of a conv kernel templated on its width, and name_kK_bf16 that read its input in bf16.
#define CONV_VARIANT(name, K, params, args) __global__ void name##_k##K params { name##_impl<K, float> args; } \
    __global__ void name##_k##K##_bf16 params { name##_impl<K, unsigned short> args; }
#define CONV_VARIANTS(name, params, args) \
    CONV_VARIANT(name, 2, params, args) CONV_VARIANT(name, 3, params, args) CONV_VARIANT(name, 4, params, args) \
    CONV_VARIANT(name, 5, params, args) CONV_VARIANT(name, 6, params, args) CONV_VARIANT(name, 7, params, args) \
    CONV_VARIANT(name, 8, params, args)
extern "C" {
CONV_VARIANTS(causal_conv1d_silu, (const float* in, int inWidth, int len, const float* weight, const float* bias, float* state, float* out, unsigned short* out16, int di, int chunkLen), (in, inWidth, len, weight, bias, state, out, out16, di, chunkLen))

// The conv state after the sequence: its last k−1 inputs (reaching back into the old state when len < k−1).
// grid (ceil(di/128), b), block 128. conv_state_update_bf16 reads in in bf16.
}  // extern "C"
template <typename T> __device__ void conv_state_update_impl(const void* in, int inWidth, int len, float* state, int di, int k) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (c >= di) return;
    float next[MAX_CONV];
    for (int j = 0; j < k - 1; j++) next[j] = conv_input(static_cast<const T*>(in), inWidth, len, state, di, k, s, c, len - (k - 1) + j);
    for (int j = 0; j < k - 1; j++) state[((long long) s * di + c) * (k - 1) + j] = next[j];
}
extern "C" {
__global__ void conv_state_update(const float* in, int inWidth, int len, float* state, int di, int k) {
    conv_state_update_impl<float>(in, inWidth, len, state, di, k);
}
__global__ void conv_state_update_bf16(const unsigned short* in, int inWidth, int len, float* state, int di, int k) {
    conv_state_update_impl<unsigned short>(in, inWidth, len, state, di, k);
}

// The steps of a chunk of the selective scan (CudaScan.CHUNK): the unit of staging, of the forward's memo, and of
// the states the backward keeps in registers.
#define SCAN_CHUNK 16
// The scan kernels (Mamba-1's here, the SSD's in mamba2.cu) are templates on S and L: L lanes (a
// power of two ≤ 32) share one channel's states, each holding S of them (states lane, lane+L, …) in
// registers, so that tile strides and shuffle widths are compile-time constants. name_sSlL are the
// pairs CudaScan.statesPerLane and lanes pick (L·S ≥ n, n ≤ 256), launched with `threads` per block
// of which `minBlocks` should fit on an SM (the register budget: 65536 / (threads·minBlocks) each).
#define SCAN_BLOCK 128
#define SCAN_SL(name, S, L, threads, minBlocks, params, args) \
    __global__ void __launch_bounds__(threads, minBlocks) name##_s##S##l##L params { name##_impl<S, L> args; }
// As SCAN_SL for the Mamba-1 scans, which read the gate z: name_sSlL in float32, name_sSlL_zbf16 in bf16.
#define SCAN_SL_GATED(name, S, L, threads, minBlocks, params, args) \
    __global__ void __launch_bounds__(threads, minBlocks) name##_s##S##l##L params { name##_impl<S, L, float> args; } \
    __global__ void __launch_bounds__(threads, minBlocks) name##_s##S##l##L##_zbf16 params { name##_impl<S, L, unsigned short> args; }
// Kernels of every (S, L) pair by the macro M (SCAN_SL or SCAN_SL_GATED).
#define SCAN_SL_EACH(M, name, threads, minBlocks, params, args) \
    M(name, 1, 2, threads, minBlocks, params, args) M(name, 2, 2, threads, minBlocks, params, args) \
    M(name, 4, 2, threads, minBlocks, params, args) M(name, 4, 4, threads, minBlocks, params, args) \
    M(name, 4, 8, threads, minBlocks, params, args) M(name, 4, 16, threads, minBlocks, params, args) \
    M(name, 4, 32, threads, minBlocks, params, args) M(name, 8, 32, threads, minBlocks, params, args)
#define SCAN_SL_VARIANTS(name, threads, minBlocks, params, args) SCAN_SL_EACH(SCAN_SL, name, threads, minBlocks, params, args)

// Tiles are staged by asynchronous copies (cp.async, sm_80+), so that a block has all its loads in flight at once:
// *dst = on ? *src : 0 for one float, or four (16-byte aligned) in copy_async4. copies_commit closes a group of a
// thread's copies; copies_wait_but_one waits until at most one of its groups is in flight, copies_wait_all for all of
// them (their data is then visible to the thread itself; a block barrier makes it visible to all).
__device__ __forceinline__ void copy_async(float* dst, const float* src, bool on) {
    unsigned to = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(to), "l"(src), "r"(on ? 4 : 0) : "memory");
}

__device__ __forceinline__ void copy_async4(float* dst, const float* src, bool on) {
    unsigned to = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(to), "l"(src), "r"(on ? 16 : 0) : "memory");
}

__device__ __forceinline__ void copies_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

__device__ __forceinline__ void copies_wait_but_one() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }

__device__ __forceinline__ void copies_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }

// All of the thread's copies landed, then the block syncs: every staged tile is readable.
__device__ __forceinline__ void copies_landed() {
    copies_wait_all();
    __syncthreads();
}

// Whether a tile's rows can go in 16-byte copies: every offset and width a multiple of four floats, both ends aligned.
__device__ __forceinline__ bool copies_by4(const float* src, const float* dst, long long offset, int width, int cols, int padCols,
                                           int stride) {
    return ((offset | width | cols | padCols | stride) & 3) == 0 && (((unsigned long long) src | (unsigned long long) dst) & 15) == 0;
}

// tile[r·stride + q] = src[(row0 + r)·width + col0 + q] for r < steps, q < cols; zeros up to rows × padCols.
__device__ __forceinline__ void stage_tile(float* tile, int stride, int rows, int padCols, const float* src, int width, int col0,
                                           int cols, long long row0, int steps) {
    if (copies_by4(src, tile, col0, width, cols, padCols, stride)) {
        for (int idx = 4 * threadIdx.x; idx < rows * padCols; idx += 4 * blockDim.x) {
            int r = idx / padCols, q = idx % padCols;
            bool on = r < steps && q < cols;
            copy_async4(tile + r * stride + q, on ? src + (row0 + r) * width + col0 + q : src, on);
        }
        return;
    }
    for (int idx = threadIdx.x; idx < rows * padCols; idx += blockDim.x) {
        int r = idx / padCols, q = idx % padCols;
        bool on = r < steps && q < cols;
        copy_async(tile + r * stride + q, on ? src + (row0 + r) * width + col0 + q : src, on);
    }
}

// As stage_tile for a tile of bf16 bits from bf16 src: 16-byte copies (eight values) where the rows allow, else plain
// loads and stores (visible after the block's next barrier, as the copies after their wait).
__device__ __forceinline__ void stage_half_tile(unsigned short* tile, int stride, int rows, int padCols, const unsigned short* src, int width,
                                                int col0, int cols, long long row0, int steps) {
    if (((col0 | width | cols | padCols | stride) & 7) == 0 && (((unsigned long long) src | (unsigned long long) tile) & 15) == 0) {
        for (int idx = 8 * threadIdx.x; idx < rows * padCols; idx += 8 * blockDim.x) {
            int r = idx / padCols, q = idx % padCols;
            bool on = r < steps && q < cols;
            copy_async4(reinterpret_cast<float*>(tile + r * stride + q),
                        reinterpret_cast<const float*>(on ? src + (row0 + r) * width + col0 + q : src), on);
        }
        return;
    }
    for (int idx = threadIdx.x; idx < rows * padCols; idx += blockDim.x) {
        int r = idx / padCols, q = idx % padCols;
        tile[r * stride + q] = r < steps && q < cols ? src[(row0 + r) * width + col0 + q] : 0;
    }
}



// ---- backward: gradients accumulate (+=) ----

// embeddingBackward: dTable[ids[t]] += dOut[t]. grid (T), block 256.
__global__ void embedding_backward(const int* ids, const float* dOut, float* dTable, int d) {
    int t = blockIdx.x;
    float* row = dTable + (long long) ids[t] * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) atomicAdd(row + c, dOut[(long long) t * d + c]);
}

// rmsNormBackward for out = x·r ⊙ w, r = 1/sqrt(mean(x²)+eps): dx += r·w⊙g − x·r³·(Σ w⊙g⊙x)/d;
// dW += g⊙x·r (dx or dW may be null). grid (T), block 256.
__global__ void rms_norm_backward(const float* x, const float* w, float eps, const float* dOut, float* dx, float* dW, int d) {
    __shared__ float sq[256], dot[256];
    long long base = (long long) blockIdx.x * d;
    float s = 0.f, p = 0.f;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float v = x[base + c];
        s += v * v;
        p += w[c] * dOut[base + c] * v;
    }
    sq[threadIdx.x] = s;
    dot[threadIdx.x] = p;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            sq[threadIdx.x] += sq[threadIdx.x + stride];
            dot[threadIdx.x] += dot[threadIdx.x + stride];
        }
        __syncthreads();
    }
    float r = rsqrtf(sq[0] / d + eps), total = dot[0];
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float v = x[base + c], g = dOut[base + c];
        if (dW) atomicAdd(dW + c, g * v * r);
        if (dx) dx[base + c] += r * w[c] * g - v * r * r * r * total / d;
    }
}

// dBias (n) += Σ_t dOut (T, n): one thread per column.
__global__ void column_sums(const float* dOut, float* dBias, int rows, int n) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    float s = 0.f;
    for (int t = 0; t < rows; t++) s += dOut[(long long) t * n + j];
    dBias[j] += s;
}

// causalConv1dSiluBackward, one thread per (sequence, channel, chunk of chunkLen positions), with
// u_τ = bias + Σ_j w_j·x_{τ−(k−1)+j} recomputed and du_τ = dOut_τ·silu′(u_τ). The thread owns the
// input positions [t0, t1) — dIn_p = Σ_m w_{k−1−m}·du_{p+m}, so it also computes du up to t1+k−2 — and
// for chunk 0 the state entries (positions < 0, dState0). dWeight, dBias: its own τ ∈ [t0, t1), added
// atomically. dIn (T, ≥di, width dInWidth; of in's type), dWeight (di, k), dBias (di), dState0 (b, di, k−1): +=, each
// may be null; state0 may be null (zeros). grid (ceil(di/128), b, chunks), block 128. Templated on k and in's type as the forward.
}  // extern "C"
template <int K, typename T> __device__ void causal_conv1d_silu_backward_impl(const void* input, int inWidth, int len, const float* weight,
                                            const float* bias, const float* state0, const float* dOut, void* dInput, int dInWidth,
                                            float* dWeight, float* dBias, float* dState0, int di, int chunkLen) {
    constexpr int k = K;
    const T* in = static_cast<const T*>(input);
    T* dIn = static_cast<T*>(dInput);
    int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y, t0 = blockIdx.z * chunkLen, t1 = min(len, t0 + chunkLen);
    if (c >= di) return;
    float w[K], dw[K], window[K], du[K];   // du[m] = du_{τ−(k−1)+m}
    #pragma unroll
    for (int j = 0; j < k; j++) { w[j] = weight[c * k + j]; dw[j] = 0.f; du[j] = 0.f; }
    #pragma unroll
    for (int j = 0; j < k - 1; j++) window[j] = conv_input(in, inWidth, len, state0, di, k, s, c, t0 - (k - 1) + j);
    float b = bias ? bias[c] : 0.f, db = 0.f;
    int first = blockIdx.z == 0 ? -(k - 1) : t0;   // the first position this thread finalises
    for (int tau = t0; tau < t1 + k - 1; tau++) {
        #pragma unroll
        for (int m = 0; m < k - 1; m++) du[m] = du[m + 1];
        du[k - 1] = 0.f;
        if (tau < len) {
            window[k - 1] = as_float(in[((long long) s * len + tau) * inWidth + c]);
            float u = b;
            #pragma unroll
            for (int j = 0; j < k; j++) u += w[j] * window[j];
            float sig = 1.f / (1.f + expf(-u));
            float g = dOut[((long long) s * len + tau) * di + c] * sig * (1.f + u * (1.f - sig));
            du[k - 1] = g;
            if (tau < t1) {
                db += g;
                #pragma unroll
                for (int j = 0; j < k; j++) dw[j] += g * window[j];
            }
            #pragma unroll
            for (int j = 0; j < k - 1; j++) window[j] = window[j + 1];
        }
        int p = tau - (k - 1);   // every du_{p..p+k−1} is known now
        if (p < first || p >= t1) continue;
        float gp = 0.f;
        #pragma unroll
        for (int m = 0; m < k; m++) gp += w[k - 1 - m] * du[m];
        if (p >= 0) { if (dIn) add_to(dIn + ((long long) s * len + p) * dInWidth + c, gp); }
        else if (dState0) dState0[((long long) s * di + c) * (k - 1) + (k - 1 + p)] += gp;
    }
    if (dWeight)
        #pragma unroll
        for (int j = 0; j < k; j++) atomicAdd(dWeight + c * k + j, dw[j]);
    if (dBias) atomicAdd(dBias + c, db);
}
extern "C" {
CONV_VARIANTS(causal_conv1d_silu_backward, (const float* in, int inWidth, int len, const float* weight, const float* bias, const float* state0, const float* dOut, float* dIn, int dInWidth, float* dWeight, float* dBias, float* dState0, int di, int chunkLen), (in, inWidth, len, weight, bias, state0, dOut, dIn, dInWidth, dWeight, dBias, dState0, di, chunkLen))

// A row's softmax statistics: its largest value m (at the first index i of it) and Σ exp(v − m).
struct SoftmaxStats { float m, sum; int i; };

// Adds value x at index i to a running statistic (indices arrive in increasing order).
__device__ __forceinline__ void online_stats(SoftmaxStats& st, float x, int i) {
    if (x > st.m) { st.sum = st.sum * expf(st.m - x) + 1.f; st.m = x; st.i = i; }
    else st.sum += expf(x - st.m);
}

// Two partial statistics as one (an empty part has m = −∞ and sum 0).
__device__ __forceinline__ SoftmaxStats merge_stats(SoftmaxStats a, SoftmaxStats b) {
    SoftmaxStats o;
    o.m = fmaxf(a.m, b.m);
    o.i = b.m > a.m || (b.m == a.m && b.i < a.i) ? b.i : a.i;
    o.sum = (a.m == o.m ? a.sum : a.sum * expf(a.m - o.m)) + (b.m == o.m ? b.sum : b.sum * expf(b.m - o.m));
    return o;
}

// *scale = 1 / (the number of targets ≥ 0), 0 without any: the weight of each row's gradient in the token mean. One block of 256.
__global__ void target_scale(const int* targets, int rows, float* scale) {
    __shared__ int warps[8];
    int count = 0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) count += targets[r] >= 0;
    for (int m = 16; m > 0; m >>= 1) count += __shfl_xor_sync(0xffffffff, count, m);
    if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = count;
    __syncthreads();
    if (threadIdx.x == 0) {
        int total = 0;
        for (int w = 0; w < blockDim.x / 32; w++) total += warps[w];
        *scale = total == 0 ? 0.f : __frcp_rn((float) total);
    }
}

// sums[0..3] += Σ loss, the number of targets, Σ hits, Σ loss / targets, over the rows with a target ≥ 0. One block of 256.
__global__ void loss_sums(const float* loss, const int* hit, const int* targets, int rows, double* sums) {
    __shared__ double warpLoss[8];
    __shared__ int warpCount[8], warpHits[8];
    double l = 0;
    int count = 0, hits = 0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x)
        if (targets[r] >= 0) { l += loss[r]; count++; hits += hit[r]; }
    for (int m = 16; m > 0; m >>= 1) {
        l += __shfl_xor_sync(0xffffffff, l, m);
        count += __shfl_xor_sync(0xffffffff, count, m);
        hits += __shfl_xor_sync(0xffffffff, hits, m);
    }
    if (threadIdx.x % 32 == 0) { warpLoss[threadIdx.x / 32] = l; warpCount[threadIdx.x / 32] = count; warpHits[threadIdx.x / 32] = hits; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < blockDim.x / 32; w++) { l += warpLoss[w]; count += warpCount[w]; hits += warpHits[w]; }
        sums[0] += l;
        sums[1] += count;
        sums[2] += hits;
        sums[3] += count == 0 ? 0.0 : l / count;
    }
}

// Cross entropy of a chunk of logit rows (R, V), in place: per row with target ≥ 0, loss[r] =
// logsumexp − logit[target] and hit[r] = (argmax == target); with `backward` the row becomes
// *meanScale·(softmax − onehot), a row without target becomes 0 — or, with grad16 non-null, the gradient goes
// there in bf16 (R, V) for a bf16 GEMM and the logits stay. One read of the row gathers max, argmax
// and Σ exp online (merged over the warp with shuffles, then over the block), a second writes the
// gradient. grid (R), block 256.
__global__ void cross_entropy_rows(float* logits, const int* targets, int vocab, const float* meanScale, int backward, float* loss, int* hit,
                                   unsigned short* grad16) {
    __shared__ SoftmaxStats warps[32];
    float scale = *meanScale;
    int r = blockIdx.x, target = targets[r];
    float* row = logits + (long long) r * vocab;
    unsigned short* row16 = grad16 ? grad16 + (long long) r * vocab : nullptr;
    if (target < 0) {
        if (backward)
            for (int v = threadIdx.x; v < vocab; v += blockDim.x)
                if (row16) row16[v] = 0;
                else row[v] = 0.f;
        if (threadIdx.x == 0) { loss[r] = 0.f; hit[r] = 0; }
        return;
    }
    SoftmaxStats part[4];   // four independent running statistics per thread, so that four loads are in flight
    #pragma unroll
    for (int q = 0; q < 4; q++) part[q] = {-__int_as_float(0x7f800000), 0.f, 0x7fffffff};   // m = −∞ (NVRTC has no math.h)
    int v = threadIdx.x;
    for (; v + 3 * (int) blockDim.x < vocab; v += 4 * blockDim.x)
        #pragma unroll
        for (int q = 0; q < 4; q++) online_stats(part[q], row[v + q * blockDim.x], v + q * blockDim.x);
    for (; v < vocab; v += blockDim.x) online_stats(part[0], row[v], v);
    SoftmaxStats st = merge_stats(merge_stats(part[0], part[1]), merge_stats(part[2], part[3]));
    for (int m = 16; m > 0; m >>= 1) {
        SoftmaxStats o = {__shfl_xor_sync(0xffffffff, st.m, m), __shfl_xor_sync(0xffffffff, st.sum, m), __shfl_xor_sync(0xffffffff, st.i, m)};
        st = merge_stats(st, o);
    }
    if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = st;
    __syncthreads();
    st = warps[0];
    for (int w = 1; w < blockDim.x / 32; w++) st = merge_stats(st, warps[w]);
    if (threadIdx.x == 0) { loss[r] = logf(st.sum) + st.m - row[target]; hit[r] = st.i == target; }
    __syncthreads();   // row[target] is read before the gradient overwrites it
    if (backward)
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            float g = scale * (expf(row[v] - st.m) / st.sum - (v == target ? 1.f : 0.f));
            if (row16) row16[v] = (unsigned short) bf16_bits(g);
            else row[v] = g;
        }
}

// selectiveScanBackward after scan_backward: dbc[row, bCol + i] += Σ_blocks partials[block, row, i]. 1-D grid over b·len·2n.
__global__ void scan_sum_partials(const float* partials, int blocks, long long rows, int width, float* dbc, int dbcWidth, int bCol) {
    long long j = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= rows * width) return;
    float sum = 0.f;
    for (int q = 0; q < blocks; q++) sum += partials[(long long) q * rows * width + j];
    dbc[(j / width) * dbcWidth + bCol + j % width] += sum;
}


}  // extern "C": the scan kernels are templates
// ---- selectiveScan and its backward (PAPER_NOTES' Mamba-1 recurrence with the State-offset seams):
//   h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·x_t·B_t;  y_t = (C_t·(h_t + h′) + D ⊙ x_t + y′) ⊙ silu(z_t),  dt_t = softplus(dt input).
// A block holds PB = SCAN_BLOCK / L channels of one sequence and walks the whole sequence in chunks of SCAN_CHUNK
// steps, the next chunk's tiles in flight (cp.async into the other of two buffers) while it computes the current one:
// sequential in time, parallel over channels, sequences and a channel's L lanes. C·h is summed across a channel's
// lanes with warp shuffles. grid (ceil(di / PB), b), SCAN_BLOCK threads. Per-channel tiles are (SCAN_CHUNK, PB);
// the state tile B|C is (SCAN_CHUNK, 2·NP), NP = S·L columns each, zero past n, so that a lane's padded states stay 0.
// The forward writes the state entering each chunk to memo (b, chunks, di, n); the backward recomputes each chunk's
// states from there into registers and walks them in reverse, carrying ∂L/∂h from chunk to chunk.

// dt's tile (steps, padCols), one float a copy: softplus_staged visits the elements each thread copied, so it needs
// only that thread's copies to have landed.
__device__ __forceinline__ void stage_dt(float* tile, int cols, int padCols, const float* dt, int di, int col0, long long row0, int steps) {
    for (int idx = threadIdx.x; idx < steps * padCols; idx += blockDim.x) {
        int r = idx / padCols, q = idx % padCols;
        bool on = q < cols;
        copy_async(tile + idx, on ? dt + (row0 + r) * di + col0 + q : dt, on);
    }
}

// The raw dt tile staged by stage_dt (its first steps rows) becomes softplus(dt) in place, and slope (may be null) its derivative.
__device__ __forceinline__ void softplus_staged(float* tile, float* slope, int padCols, int steps) {
    for (int idx = threadIdx.x; idx < steps * padCols; idx += blockDim.x) {
        float v = tile[idx];
        tile[idx] = softplus_of(v);
        if (slope) slope[idx] = softplus_slope(v);
    }
}

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

// A lane's A·log2(e) (exp(dt·A) = exp2(dt·A·log2 e)) and h′ values; 0 past n, so the padded states never move.
template <int S, int L> __device__ __forceinline__ void lane_constants(float (&a2)[S], float (&off)[S], const float* A,
                                                                      const float* hOffset, int cc, int n, int lane) {
    #pragma unroll
    for (int j = 0; j < S; j++) {
        int i = lane + j * L;
        a2[j] = i < n ? A[(long long) cc * n + i] * LOG2E : 0.f;
        off[j] = i < n && hOffset ? hOffset[(long long) cc * n + i] : 0.f;
    }
}

// What scan_forward and scan_backward know of their block and thread: the tile widths, the thread's lane of channel c
// (cc: a valid channel to read for threads past di), the sequence s, and the block's channels from c0 (cols of them).
#define SCAN_THREAD \
    constexpr int PB = SCAN_BLOCK / L, NP = S * L, W2 = 2 * NP, CT = SCAN_CHUNK * PB; \
    int lane = threadIdx.x % L, local = threadIdx.x / L, c0 = blockIdx.x * PB, c = c0 + local, s = blockIdx.y; \
    int chunks = (len + SCAN_CHUNK - 1) / SCAN_CHUNK, cols = min(PB, di - c0); \
    bool valid = c < di; \
    int cc = valid ? c : 0;

// A chunk's gate tile (SCAN_CHUNK, PB) from z's columns [col0, col0 + cols) of rows row0 on, in z's type TZ.
template <typename TZ> __device__ __forceinline__ void stage_gate(float* tile, int PB, int steps, const void* z, int zWidth, int col0, int cols,
                                                                  long long row0) {
    if constexpr (sizeof(TZ) == 2)
        stage_half_tile(reinterpret_cast<unsigned short*>(tile), PB, steps, PB, static_cast<const unsigned short*>(z), zWidth, col0, cols, row0, steps);
    else stage_tile(tile, PB, steps, PB, static_cast<const float*>(z), zWidth, col0, cols, row0, steps);
}

// selectiveScan: y (may be null: the memo alone) from h0 (null: zeros); the state after the last step goes to hEnd
// (may be null, may be h0). Shared, two buffers of: dt, x, z (SCAN_CHUNK, PB); B|C (SCAN_CHUNK, 2·NP). z holds TZ (float, or
// bf16 bits), and so does its tile.
template <int S, int L, typename TZ> __device__ void scan_forward_impl(const float* x, const float* dt, const float* A, const float* bc,
                                 int bcWidth, int bCol, const float* D, const void* z, int zWidth, int zCol, int len, int di, int n,
                                 const float* h0, float* hEnd, const float* hOffset, const float* yOffset, float* y, unsigned short* y16,
                                 float* memo) {
    extern __shared__ float tile[];
    SCAN_THREAD
    constexpr int BUF = 3 * CT + SCAN_CHUNK * W2;
    auto stageChunk = [&](int k) {
        float* buf = tile + (k & 1) * BUF;
        long long row0 = (long long) s * len + k * SCAN_CHUNK;
        int steps = min(SCAN_CHUNK, len - k * SCAN_CHUNK);
        stage_dt(buf, cols, PB, dt, di, c0, row0, steps);
        stage_tile(buf + CT, PB, steps, PB, x, di, c0, cols, row0, steps);
        if (y) stage_gate<TZ>(buf + 2 * CT, PB, steps, z, zWidth, zCol + c0, cols, row0);
        stage_tile(buf + 3 * CT, W2, steps, NP, bc, bcWidth, bCol, n, row0, steps);
        stage_tile(buf + 3 * CT + NP, W2, steps, NP, bc, bcWidth, bCol + n, n, row0, steps);
        copies_commit();
    };
    stageChunk(0);
    float h[S], a2[S], off[S];
    lane_constants<S, L>(a2, off, A, hOffset, cc, n, lane);
    #pragma unroll
    for (int j = 0; j < S; j++) {
        int i = lane + j * L;
        h[j] = i < n && h0 ? h0[((long long) s * di + cc) * n + i] : 0.f;
    }
    float d = y ? D[cc] : 0.f, yo = yOffset ? yOffset[cc] : 0.f;
    for (int k = 0; k < chunks; k++) {
        if (k + 1 < chunks) {
            stageChunk(k + 1);
            copies_wait_but_one();
        } else copies_wait_all();
        float* buf = tile + (k & 1) * BUF;
        long long row0 = (long long) s * len + k * SCAN_CHUNK;
        int steps = min(SCAN_CHUNK, len - k * SCAN_CHUNK);
        softplus_staged(buf, nullptr, PB, steps);
        __syncthreads();
        if (memo && valid)
            #pragma unroll
            for (int j = 0; j < S; j++) {
                int i = lane + j * L;
                if (i < n) memo[(((long long) s * chunks + k) * di + c) * n + i] = h[j];
            }
        const float *dtP = buf + local, *xP = dtP + CT, *bP = buf + 3 * CT + lane;
        const TZ* zP = reinterpret_cast<const TZ*>(buf + 2 * CT) + local;
        #pragma unroll
        for (int r = 0; r < SCAN_CHUNK; r++) {
            if (r >= steps) break;
            float dtv = dtP[r * PB], xv = xP[r * PB], u = dtv * xv;
            const float* B = bP + r * W2;
            float part = 0.f;
            #pragma unroll
            for (int j = 0; j < S; j++) {
                h[j] = exp2f(dtv * a2[j]) * h[j] + u * B[j * L];
                part += B[NP + j * L] * (h[j] + off[j]);
            }
            #pragma unroll
            for (int m = L / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, L);
            if (y && valid && lane == 0) {
                float out = (part + d * xv + yo) * silu(as_float(zP[r * PB]));
                y[(row0 + r) * di + c] = out;
                if (y16) y16[(row0 + r) * di + c] = (unsigned short) bf16_bits(out);
            }
        }
        __syncthreads();   // the buffer is free for chunk k + 2
    }
    if (hEnd && valid)
        #pragma unroll
        for (int j = 0; j < S; j++) {
            int i = lane + j * L;
            if (i < n) hEnd[((long long) s * di + c) * n + i] = h[j];
        }
}
extern "C" {
SCAN_SL_EACH(SCAN_SL_GATED, scan_forward, SCAN_BLOCK, 1, (const float* x, const float* dt, const float* A, const float* bc, int bcWidth, int bCol, const float* D, const float* z, int zWidth, int zCol, int len, int di, int n, const float* h0, float* hEnd, const float* hOffset, const float* yOffset, float* y, unsigned short* y16, float* memo), (x, dt, A, bc, bcWidth, bCol, D, z, zWidth, zCol, len, di, n, h0, hEnd, hOffset, yOffset, y, y16, memo))

// selectiveScan's one-token step (len = 1: a decode step, z in float32), where the chunked machinery's staging would cost
// more than the step: L = n/4 lanes a channel, each with 4 of its states, so that a warp's loads of the state and of A
// are whole 16-byte runs side by side; C·h summed by shuffles; scan_forward's arithmetic. state (b, di, n) read as h_0
// and written as h_1. dt (b, di) is given, or, with W (di, r) non-null (Backend.selectiveScanStep), dt_proj's output
// dtIn[:, 0:r] · Wᵀ + bias (bias may be null) is computed here, each lane taking every L-th of the r terms.
// grid (ceil(di / (128 / L)), b), block 128: scan_step_lL (L = 1 … 32, n = 4 … 128) with W in float32, _wbf16 in bf16.
}  // extern "C"
template <int L, typename TW> __device__ void scan_step_impl(const float* x, const float* dt, const float* dtIn, int dtInWidth,
                                                             const void* W, const float* bias, int r, const float* A, const float* bc,
                                                             int bcWidth, int bCol, const float* D, const float* z, int zWidth, int zCol,
                                                             int di, int n, float* state, const float* hOffset, const float* yOffset,
                                                             float* y, unsigned short* y16) {
    int lane = threadIdx.x % L, c = blockIdx.x * (blockDim.x / L) + threadIdx.x / L, s = blockIdx.y, i0 = 4 * lane;
    bool valid = c < di;
    int cc = valid ? c : di - 1;   // past di: the shuffles still need every lane
    float dtRaw;
    if (W) {
        const TW* w = static_cast<const TW*>(W) + (long long) cc * r;
        const float* in = dtIn + (long long) s * dtInWidth;
        float acc = 0.f;
        for (int k = lane; k < r; k += L) acc += in[k] * as_float(w[k]);
        #pragma unroll
        for (int m = L / 2; m > 0; m >>= 1) acc += __shfl_xor_sync(0xffffffff, acc, m, L);
        dtRaw = acc + (bias ? bias[cc] : 0.f);
    } else {
        dtRaw = dt[(long long) s * di + cc];
    }
    float dtv = softplus_of(dtRaw), xv = x[(long long) s * di + cc], u = dtv * xv, part = 0.f;
    const float *B = bc + (long long) s * bcWidth + bCol + i0, *C = B + n;
    float4* h = reinterpret_cast<float4*>(state + ((long long) s * di + cc) * n + i0);
    float4 hv = *h, a = *reinterpret_cast<const float4*>(A + (long long) cc * n + i0);
    float hs[4] = {hv.x, hv.y, hv.z, hv.w}, as[4] = {a.x, a.y, a.z, a.w};
    #pragma unroll
    for (int j = 0; j < 4; j++) {
        hs[j] = exp2f(dtv * (as[j] * LOG2E)) * hs[j] + u * B[j];
        part += C[j] * (hs[j] + (hOffset ? hOffset[(long long) cc * n + i0 + j] : 0.f));
    }
    #pragma unroll
    for (int m = L / 2; m > 0; m >>= 1) part += __shfl_xor_sync(0xffffffff, part, m, L);
    if (!valid) return;
    *h = make_float4(hs[0], hs[1], hs[2], hs[3]);
    if (lane != 0) return;
    float out = (part + D[c] * xv + (yOffset ? yOffset[c] : 0.f)) * silu(z[(long long) s * zWidth + zCol + c]);
    y[(long long) s * di + c] = out;
    if (y16) y16[(long long) s * di + c] = (unsigned short) bf16_bits(out);
}
extern "C" {
#define SCAN_STEP_PARAMS (const float* x, const float* dt, const float* dtIn, int dtInWidth, const float* W, const float* bias, int r, \
    const float* A, const float* bc, int bcWidth, int bCol, const float* D, const float* z, int zWidth, int zCol, int di, int n, float* state, \
    const float* hOffset, const float* yOffset, float* y, unsigned short* y16)
#define SCAN_STEP_ARGS (x, dt, dtIn, dtInWidth, W, bias, r, A, bc, bcWidth, bCol, D, z, zWidth, zCol, di, n, state, hOffset, yOffset, y, y16)
#define SCAN_STEP(L) __global__ void __launch_bounds__(128) scan_step_l##L SCAN_STEP_PARAMS { scan_step_impl<L, float> SCAN_STEP_ARGS; } \
    __global__ void __launch_bounds__(128) scan_step_l##L##_wbf16 SCAN_STEP_PARAMS { scan_step_impl<L, unsigned short> SCAN_STEP_ARGS; }
SCAN_STEP(1) SCAN_STEP(2) SCAN_STEP(4) SCAN_STEP(8) SCAN_STEP(16) SCAN_STEP(32)

// v[0, V) summed over the lanes of a warp that differ only in bits ≥ L (the warp's channels), as a
// reduce-scatter: each level sends half of the values still held and keeps the other half, so the
// lane ends with the sums of v[first, first + R) in v[0, R), R = max(1, V·L/32), and returns first.
// When V < 32/L the last levels sum one value; of the lanes that then hold the same sum, `writer` is
// true for one.
}  // extern "C"
template <int V, int L> __device__ __forceinline__ int warp_reduce_scatter(float (&v)[V], bool& writer) {
    int lane = threadIdx.x % 32, first = 0;
    writer = true;
    int cur = V;
    #pragma unroll
    for (int m = L; m < 32; m <<= 1) {
        if (cur > 1) {
            int half = cur / 2;
            bool up = lane & m;
            #pragma unroll
            for (int q = 0; q < half; q++) {
                float send = up ? v[q] : v[q + half];
                v[q] = (up ? v[q + half] : v[q]) + __shfl_xor_sync(0xffffffff, send, m);
            }
            if (up) first += half;
            cur = half;
        } else {
            v[0] += __shfl_xor_sync(0xffffffff, v[0], m);
            if (lane & m) writer = false;
        }
    }
    return first;
}

// selectiveScanBackward (see CpuScanBackward, which this mirrors step for step): chunks from the last to the first,
// each chunk's states recomputed into registers from its start state in memo (the loops unroll, so hist[r] is a
// register), then walked in reverse with the carry dh = ∂L/∂h. dB, dC: summed over a warp's channels by
// warp_reduce_scatter into the warp's own tile, then over the block's warps once per chunk into partials
// (gridDim.x, b·len, 2n) for scan_sum_partials. dx, ddt, dz: collected in tiles, written (dx, ddt) or added (dz, in z's type
// TZ) at the end of each chunk.
// Shared, two buffers of: dt, softplus' slope, x, z, dy (SCAN_CHUNK, PB); B|C (SCAN_CHUNK, 2·NP); start (PB, NP);
// then once: dx, ddt, dz (SCAN_CHUNK, PB); dB|dC (warps, SCAN_CHUNK, 2·NP).
template <int S, int L, typename TZ> __device__ void scan_backward_impl(const float* x, const float* dt, const float* A, const float* bc,
                                  int bcWidth, int bCol, const float* D, const void* z, int zWidth, int zCol, int len, int di, int n,
                                  const float* memo, const float* hOffset, const float* yOffset, const float* dy, float* dx,
                                  float* ddt, float* partials, void* dz, float* dA, float* dD, float* dh0, float* dhOffset,
                                  float* dyOffset) {
    extern __shared__ float tile[];
    SCAN_THREAD
    constexpr int BUF = 5 * CT + SCAN_CHUNK * W2 + PB * NP, WARPS = SCAN_BLOCK / 32;
    float *gxT = tile + 2 * BUF, *gdtT = gxT + CT, *gzT = gdtT + CT, *dbcT = gzT + CT;
    auto stageChunk = [&](int k) {
        float* buf = tile + (k & 1) * BUF;
        long long row0 = (long long) s * len + k * SCAN_CHUNK;
        int steps = min(SCAN_CHUNK, len - k * SCAN_CHUNK);
        stage_dt(buf, cols, PB, dt, di, c0, row0, steps);
        stage_tile(buf + 2 * CT, PB, steps, PB, x, di, c0, cols, row0, steps);
        stage_gate<TZ>(buf + 3 * CT, PB, steps, z, zWidth, zCol + c0, cols, row0);
        stage_tile(buf + 4 * CT, PB, steps, PB, dy, di, c0, cols, row0, steps);
        stage_tile(buf + 5 * CT, W2, steps, NP, bc, bcWidth, bCol, n, row0, steps);
        stage_tile(buf + 5 * CT + NP, W2, steps, NP, bc, bcWidth, bCol + n, n, row0, steps);
        stage_tile(buf + 5 * CT + SCAN_CHUNK * W2, NP, PB, NP, memo, n, 0, n, ((long long) s * chunks + k) * di + c0, cols);
        copies_commit();
    };
    stageChunk(chunks - 1);
    float dh[S], a2[S], off[S], gA[S], gOff[S];
    lane_constants<S, L>(a2, off, A, hOffset, cc, n, lane);
    #pragma unroll
    for (int j = 0; j < S; j++) { dh[j] = 0.f; gA[j] = 0.f; gOff[j] = 0.f; }
    float d = D[cc], yo = yOffset ? yOffset[cc] : 0.f, gD = 0.f, gYo = 0.f;
    float* warpDbc = dbcT + threadIdx.x / 32 * SCAN_CHUNK * W2 + lane;
    for (int k = chunks - 1; k >= 0; k--) {
        if (k > 0) {
            stageChunk(k - 1);
            copies_wait_but_one();
        } else copies_wait_all();
        float* buf = tile + (k & 1) * BUF;
        long long row0 = (long long) s * len + k * SCAN_CHUNK;
        int steps = min(SCAN_CHUNK, len - k * SCAN_CHUNK);
        softplus_staged(buf, buf + CT, PB, steps);
        __syncthreads();
        const float *dtP = buf + local, *xP = buf + 2 * CT + local, *gP = buf + 4 * CT + local;
        const TZ* zP = reinterpret_cast<const TZ*>(buf + 3 * CT) + local;
        const float *bP = buf + 5 * CT + lane, *first = buf + 5 * CT + SCAN_CHUNK * W2 + local * NP + lane;   // zeros past di
        float hist[SCAN_CHUNK][S];
        #pragma unroll
        for (int r = 0; r < SCAN_CHUNK; r++) {   // the chunk's states h_t, from its start state
            if (r >= steps) break;
            float dtv = dtP[r * PB], u = dtv * xP[r * PB];
            #pragma unroll
            for (int j = 0; j < S; j++)
                hist[r][j] = exp2f(dtv * a2[j]) * (r > 0 ? hist[r > 0 ? r - 1 : 0][j] : first[j * L]) + u * bP[r * W2 + j * L];
        }
        #pragma unroll
        for (int r = SCAN_CHUNK - 1; r >= 0; r--) {
            if (r >= steps) continue;
            float dtv = dtP[r * PB], xv = xP[r * PB], zv = as_float(zP[r * PB]), gy = gP[r * PB], u = dtv * xv;   // gy is 0 past di
            const float* B = bP + r * W2;
            float ho[S], yPart = 0.f;
            #pragma unroll
            for (int j = 0; j < S; j++) {
                ho[j] = hist[r][j] + off[j];
                yPart += B[NP + j * L] * ho[j];
            }
            #pragma unroll
            for (int m = L / 2; m > 0; m >>= 1) yPart += __shfl_xor_sync(0xffffffff, yPart, m, L);
            float yv = yPart + d * xv + yo;
            float sig = 1.f / (1.f + expf(-zv));
            float dyv = gy * zv * sig;
            gD += dyv * xv;
            gYo += dyv;
            float sB = 0.f, sA = 0.f, v[2 * S];   // Σ dh·B, Σ dh·A·log2(e)·decay·h_{t−1}; v = dB_t | dC_t of this lane's states
            #pragma unroll
            for (int j = 0; j < S; j++) {
                float Bj = B[j * L], Cj = B[NP + j * L], hp = r > 0 ? hist[r > 0 ? r - 1 : 0][j] : first[j * L];
                float cdy = dyv * Cj, dht = dh[j] + cdy;
                gOff[j] += cdy;
                v[S + j] = dyv * ho[j];
                v[j] = dht * u;
                sB += dht * Bj;
                dh[j] = dht * exp2f(dtv * a2[j]);
                float w = dh[j] * hp;
                sA += a2[j] * w;
                gA[j] += dtv * w;
            }
            float gx = dtv * sB, gdt = xv * sB + LN2 * sA;
            #pragma unroll
            for (int m = L / 2; m > 0; m >>= 1) {
                gx += __shfl_xor_sync(0xffffffff, gx, m, L);
                gdt += __shfl_xor_sync(0xffffffff, gdt, m, L);
            }
            bool writer;
            int q0 = warp_reduce_scatter<2 * S, L>(v, writer);   // over the warp's channels
            constexpr int R = 2 * S * L >= 32 ? 2 * S * L / 32 : 1;
            if (writer)
                #pragma unroll
                for (int e = 0; e < R; e++) warpDbc[r * W2 + (q0 + e) * L] = v[e];
            if (lane == 0) {
                gxT[r * PB + local] = gx + dyv * d;
                gdtT[r * PB + local] = gdt;
                gzT[r * PB + local] = gy * yv * sig * (1.f + zv * (1.f - sig));
            }
        }
        __syncthreads();
        float* part = partials + ((long long) blockIdx.x * gridDim.y * len + row0) * 2 * n;
        for (int idx = threadIdx.x; idx < steps * W2; idx += blockDim.x) {
            int r = idx / W2, q = idx % W2, i = q % NP;
            if (i >= n) continue;
            float sum = 0.f;
            #pragma unroll
            for (int w = 0; w < WARPS; w++) sum += dbcT[(w * SCAN_CHUNK + r) * W2 + q];
            part[r * 2 * n + (q < NP ? i : n + i)] = sum;
        }
        const float* slope = buf + CT;
        for (int idx = threadIdx.x; idx < steps * PB; idx += blockDim.x) {
            int r = idx / PB, col = idx % PB;
            if (col >= cols) continue;
            long long at = (row0 + r) * di + c0 + col;
            dx[at] = gxT[idx];   // written (ScanGrads): the scan is their first writer
            ddt[at] = gdtT[idx] * slope[idx];
            if (dz) add_to(static_cast<TZ*>(dz) + (row0 + r) * zWidth + zCol + c0 + col, gzT[idx]);
        }
        __syncthreads();   // the buffer and the gradient tiles are free again
    }
    if (!valid) return;
    #pragma unroll
    for (int j = 0; j < S; j++) {
        int i = lane + j * L;
        if (i < n) {
            if (dh0) dh0[((long long) s * di + c) * n + i] += dh[j];
            if (dA) atomicAdd(dA + (long long) c * n + i, gA[j]);
            if (dhOffset) atomicAdd(dhOffset + (long long) c * n + i, gOff[j]);
        }
    }
    if (lane == 0) {
        if (dD) atomicAdd(dD + c, gD);
        if (dyOffset) atomicAdd(dyOffset + c, gYo);
    }
}
extern "C" {
SCAN_SL_EACH(SCAN_SL_GATED, scan_backward, SCAN_BLOCK, 4, (const float* x, const float* dt, const float* A, const float* bc, int bcWidth, int bCol, const float* D, const float* z, int zWidth, int zCol, int len, int di, int n, const float* memo, const float* hOffset, const float* yOffset, const float* dy, float* dx, float* ddt, float* partials, float* dz, float* dA, float* dD, float* dh0, float* dhOffset, float* dyOffset), (x, dt, A, bc, bcWidth, bCol, D, z, zWidth, zCol, len, di, n, memo, hOffset, yOffset, dy, dx, ddt, partials, dz, dA, dD, dh0, dhOffset, dyOffset))

// ---- The optimizer (Backend.adamwStep, sgdStep, sumOfSquares, scaleInPlace) over n floats, grid-stride loops. The updates
// round as the CPU's Java does (no fused multiply-adds, IEEE division and square root), so both backends step alike.

// torch.lerp: which end it starts from depends on the weight.
__device__ __forceinline__ float opt_lerp(float start, float end, float w) {
    return w < 0.5f ? __fadd_rn(start, __fmul_rn(w, __fsub_rn(end, start))) : __fsub_rn(end, __fmul_rn(__fsub_rn(end, start), __fsub_rn(1.f, w)));
}

// schedule: this step's decay, stepSize, bc2 (Backend.AdamWStep).
__global__ void adamw_step(float* x, const float* g, float* m, float* v, long long n, int decays, const float* schedule, float w1, float b2,
                           float w2, float eps) {
    float decay = schedule[0], stepSize = schedule[1], bc2 = schedule[2];
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float xi = decays ? __fmul_rn(x[i], decay) : x[i], gi = g[i];
        float mi = opt_lerp(m[i], gi, w1), vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(w2, gi), gi));
        x[i] = __fsub_rn(xi, __fmul_rn(stepSize, __fdiv_rn(mi, __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2), eps))));
        m[i] = mi;
        v[i] = vi;
    }
}

__global__ void sgd_step(float* x, const float* g, long long n, const float* learningRate, float wd) {
    float lr = *learningRate;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x)
        x[i] = __fsub_rn(x[i], __fmul_rn(lr, wd != 0.f ? __fadd_rn(g[i], __fmul_rn(wd, x[i])) : g[i]));
}

// *out += Σ x² in double: each block sums its share with shuffles, then adds it atomically. Block 256.
__global__ void sum_of_squares(const float* x, long long n, double* out) {
    __shared__ double warps[8];
    double s = 0;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) s += (double) x[i] * x[i];
    for (int m = 16; m > 0; m >>= 1) s += __shfl_xor_sync(0xffffffff, s, m);
    if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0;
        for (int w = 0; w < blockDim.x / 32; w++) total += warps[w];
        atomicAdd(out, total);
    }
}

// torch's clip_grad_norm_ on x, decided here from *sumOfSquares: x *= (float) coef for coef = maxNorm / (√Σ + 1e-6)
// when the norm is finite (≤ DBL_MAX: not inf, not NaN) and coef < 1.
__global__ void clip_to_norm(float* x, long long n, const double* sumOfSquares, double maxNorm) {
    double norm = sqrt(*sumOfSquares), coef = maxNorm / (norm + 1e-6);
    if (!(norm <= 1.7976931348623157e308 && coef < 1.0)) return;
    float c = (float) coef;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) x[i] *= c;
}

__global__ void scale_in_place(float* x, long long n, float c) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) x[i] *= c;
}

}
