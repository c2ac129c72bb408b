package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.backend.ScanGrads;
import dev.statetune.backend.SsdDims;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The Backend on an NVIDIA GPU through the FFM API: driver API, cuBLAS for the GEMMs, NVRTC-compiled
 * kernels (resources/dev/statetune/cuda/kernels.cu). Tensors live in CUDA managed memory, so host
 * code reads results after {@link #synchronize}; ops are queued on one stream. Weights are held as
 * float32 on the GPU and every op computes in float32, like the CPU backend. Host tensors given to
 * an op (adapter parameters) are copied over for that op. Inference only so far: the backward ops
 * fail with one line.
 */
public final class CudaBackend implements Backend {
    private static final int BLOCK = 256;

    private final Driver driver;
    private final int ordinal;
    private final String deviceName;
    private final MemorySegment context, stream;
    private final DeviceMemory memory;
    private final Cublas cublas;
    private final Kernels kernels;

    /** Whether a CUDA driver and a GPU are there. */
    public static boolean available() {
        return Driver.available();
    }

    /** @throws StatetuneException with one line when there is no driver, no such GPU, or a library is missing */
    public CudaBackend(int ordinal) {
        driver = Driver.get();
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) throw new StatetuneException("no GPU cuda:" + ordinal + " (this machine has " + count + ")");
        this.ordinal = ordinal;
        int device = driver.device(ordinal);
        deviceName = driver.deviceName(device);
        context = driver.primaryContext(device);
        driver.setCurrent(context);
        stream = driver.createStream();
        memory = new DeviceMemory(driver);
        cublas = new Cublas(stream);
        kernels = new Kernels(driver, device, stream);
    }

    @Override
    public String name() {
        return "cuda:" + ordinal + " (" + deviceName + ")";
    }

    @Override
    public void synchronize() {
        driver.synchronize(stream);
    }

    /** GPU memory this backend holds (its caching allocator's blocks), in bytes. */
    public long reservedBytes() {
        return memory.reservedBytes();
    }

    @Override
    public Tensor allocate(long... shape) {
        long bytes = Tensor.numel(shape) * 4;
        MemorySegment block = memory.allocate(bytes);
        driver.zeroAsync(block.address(), bytes, stream);
        return new Tensor(block, DType.F32, shape);
    }

    @Override
    public Tensor prepareWeight(Tensor stored) {
        Tensor out = allocate(stored.shape());
        switch (stored.dtype()) {
            case F32 -> upload(stored.data(), out.data().address());
            case BF16 -> {
                MemorySegment raw = memory.allocate(stored.data().byteSize());
                upload(stored.data(), raw.address());
                kernels.launch("bf16_to_float", blocks(stored.numel()), 1, BLOCK, raw.address(), out.data().address(), stored.numel());
            }
            default -> {
                return prepareWeight(stored.toF32(Arena.ofAuto()));
            }
        }
        synchronize();   // the source may be a mapped file or a heap array the caller reuses
        return out;
    }

    /** Copies host bytes to a device address, ordered on the stream. */
    private void upload(MemorySegment host, long device) {
        if (host.isNative()) {
            driver.copyAsync(device, host.address(), host.byteSize(), stream);
            return;
        }
        try (Arena a = Arena.ofConfined()) {   // a heap array has no address: stage it off-heap (the copy returns once staged)
            MemorySegment staged = a.allocate(host.byteSize(), 16);
            staged.copyFrom(host);
            driver.copyAsync(device, staged.address(), host.byteSize(), stream);
        }
    }

    /** The device address of t's data: its own when it lives on this GPU, else a copy made for this op (0 for null). */
    private long ptr(Tensor t) {
        if (t == null) return 0L;
        MemorySegment s = t.data();
        if (s.isNative() && memory.owns(s.address())) return s.address();
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("host tensor of " + t.dtype() + " given to the CUDA backend");
        MemorySegment copy = memory.allocate(s.byteSize());
        upload(s, copy.address());
        return copy.address();
    }

    private static int blocks(long n) {
        return Math.toIntExact((n + BLOCK - 1) / BLOCK);
    }

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        MemorySegment idsOnGpu = memory.allocate(4L * ids.length);
        upload(MemorySegment.ofArray(ids), idsOnGpu.address());
        kernels.launch("embedding", ids.length, 1, BLOCK, idsOnGpu.address(), ptr(table), ptr(out), (int) table.size(1));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        kernels.launch("rms_norm", (int) x.size(0), 1, BLOCK, ptr(x), ptr(weight), eps, ptr(out), (int) x.size(1));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        MemorySegment d = dst.data();
        if (d.isNative() && memory.owns(d.address())) {
            driver.copyAsync(d.address(), ptr(src), src.data().byteSize(), stream);
        } else {
            synchronize();   // a host destination: managed memory is readable once the stream is done
            MemorySegment.copy(src.data(), 0, d, 0, src.data().byteSize());
        }
    }

    @Override
    public void copyColumns(Tensor src, int col, Tensor dst) {
        long n = dst.numel();
        kernels.launch("copy_columns", blocks(n), 1, BLOCK, ptr(src), (int) src.size(1), col, ptr(dst), (int) dst.size(1), n);
    }

    @Override
    public void addScaledColumns(Tensor dst, int col, Tensor src, float scale) {
        long n = src.numel();
        kernels.launch("add_scaled_columns", blocks(n), 1, BLOCK, ptr(dst), (int) dst.size(1), col, ptr(src), (int) src.size(1), scale, n);
    }

    @Override
    public void multiplyInPlace(Tensor acc, Tensor x) {
        kernels.launch("multiply_in_place", blocks(acc.numel()), 1, BLOCK, ptr(acc), ptr(x), acc.numel());
    }

    @Override
    public void addInPlace(Tensor acc, Tensor x) {
        kernels.launch("add_in_place", blocks(acc.numel()), 1, BLOCK, ptr(acc), ptr(x), acc.numel());
    }

    @Override
    public void linear(Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        int rows = (int) x.size(0), n = (int) w.size(0), k = (int) w.size(1);
        if (out.size(1) != n) throw new IllegalArgumentException("linear: out width " + out.size(1) + " for " + n + " outputs");
        if (w.dtype() != DType.F32) throw new IllegalArgumentException("linear: weight of " + w.dtype() + " (prepare it first)");
        // Row-major out (rows, n) = x (rows, k) · wᵀ is, column-major, out (n × rows) = wᵀ (n × k) · x (k × rows).
        cublas.gemm(Cublas.OP_T, Cublas.OP_N, n, rows, k, ptr(w), Cublas.R_32F, k, ptr(x) + 4L * xCol, Cublas.R_32F, (int) x.size(1),
                false, ptr(out), n);
        if (bias != null) kernels.launch("add_bias", blocks(out.numel()), 1, BLOCK, ptr(out), ptr(bias), n, out.numel());
    }

    @Override
    public void causalConv1dSilu(Tensor in, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        int di = (int) out.size(1), k = (int) weight.size(-1);
        if (k > 8) throw new StatetuneException("the CUDA conv kernel takes conv widths up to 8, not " + k);
        kernels.launch("causal_conv1d_silu", (di + 127) / 128, batch, 128, ptr(in), (int) in.size(1), len, ptr(weight), ptr(bias),
                ptr(convState), ptr(out), di, k);
    }

    @Override
    public void softplusInPlace(Tensor x) {
        kernels.launch("softplus_in_place", blocks(x.numel()), 1, BLOCK, ptr(x), x.numel());
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        int di = (int) A.size(0), n = (int) A.size(1);
        int lanes = Math.min(32, Integer.highestOneBit(Math.max(1, n - 1)) << 1);
        if (n > 8 * lanes) throw new StatetuneException("the CUDA scan takes state sizes up to 256, not " + n);
        int perBlock = 128 / lanes;
        kernels.launch("selective_scan", (di + perBlock - 1) / perBlock, batch, 128, ptr(x), ptr(dt), ptr(A), ptr(bc), (int) bc.size(1), bCol,
                ptr(D), ptr(z), (int) z.size(1), zCol, len, di, n, lanes, ptr(state), ptr(hOffset), ptr(yOffset), ptr(y));
    }

    @Override
    public void ssdScan(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D, SsdDims dims,
                        int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        throw new StatetuneException("Mamba-2 does not run on the CUDA backend yet; use --device cpu");
    }

    @Override
    public void gatedRmsNorm(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor out) {
        throw new StatetuneException("Mamba-2 does not run on the CUDA backend yet; use --device cpu");
    }

    private static StatetuneException trainingNotYet() {
        return new StatetuneException("the CUDA backend runs inference only so far; train with --device cpu");
    }

    @Override
    public void dropout(Tensor x, float p, long seed, Tensor mask) { throw trainingNotYet(); }

    @Override
    public void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol, int batch, int len,
                                      Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads grads) { throw trainingNotYet(); }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, Tensor dTable) { throw trainingNotYet(); }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, float eps, Tensor dOut, Tensor dx, Tensor dWeight) { throw trainingNotYet(); }

    @Override
    public void linearBackward(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, Tensor dW, Tensor dBias) { throw trainingNotYet(); }

    @Override
    public void causalConv1dSiluBackward(Tensor in, int batch, int len, Tensor weight, Tensor bias, Tensor state0, Tensor dOut,
                                         Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0) { throw trainingNotYet(); }

    @Override
    public void softplusBackward(Tensor pre, Tensor dOut, Tensor dPre) { throw trainingNotYet(); }

    @Override
    public LossResult crossEntropy(Tensor hidden, Tensor w, int[] targets, float scale, Tensor dHidden, Tensor dW) { throw trainingNotYet(); }

    @Override
    public void close() {
        synchronize();
        memory.close();
    }
}
