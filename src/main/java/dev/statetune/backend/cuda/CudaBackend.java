package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;
import dev.statetune.backend.Backend;
import dev.statetune.backend.ScanGrads;
import dev.statetune.backend.SsdDims;
import dev.statetune.backend.SsdGrads;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The Backend on an NVIDIA GPU through the FFM API: driver API, cuBLASLt for the GEMMs, NVRTC-compiled
 * kernels (resources/dev/statetune/cuda/*.cu; the scans in CudaScan and CudaSsd). Tensors live in
 * CUDA managed memory, so host code reads results after {@link #synchronize}; ops are queued on one
 * stream. Every op computes in float32 like the CPU backend, except the GEMMs of frozen matrices
 * with bf16 (tensor cores). Host tensors given to an op (adapter parameters and their gradients, in
 * Java arrays) are mirrored on the GPU until the next synchronize, which writes the gradients back.
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
    private final CudaScan scan;
    private final boolean bf16;
    /** The bf16 copies kept beside allocateLinearInput's tensors. */
    private final Bf16Copies bf16Copies = new Bf16Copies();

    private final OpTimes times = new OpTimes();

    /** Runs one op; with STATETUNE_PROFILE set, times it on a drained stream. */
    private void timed(String op, Runnable body) {
        if (!OpTimes.ON || recording != null) {   // a recorded step runs later, as one graph
            body.run();
            return;
        }
        driver.synchronize(stream);
        long t0 = System.nanoTime();
        body.run();
        long host = System.nanoTime() - t0;
        driver.synchronize(stream);
        times.add(op, System.nanoTime() - t0, host);
    }

    /** Whether a CUDA driver and a GPU are there. */
    public static boolean available() {
        return Driver.available();
    }

    /** float32 weights and GEMMs, the CPU backend's numbers. */
    public CudaBackend(int ordinal) {
        this(ordinal, false);
    }

    /**
     * With bf16, the frozen matrices (in_proj, x_proj, dt_proj, out_proj, the embedding and LM head:
     * both dimensions ≥ 32) are held in bfloat16 and their GEMMs run on tensor cores, operands rounded to
     * bf16, accumulating in fp32; trained matrices of that size keep fp32 masters and are rounded for
     * each GEMM; everything else stays fp32 (scan state, norms, the other trained parameters).
     *
     * @throws StatetuneException with one line when there is no driver, no such GPU, or a library is missing
     */
    public CudaBackend(int ordinal, boolean bf16) {
        this.bf16 = bf16;
        driver = Driver.get();
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) throw new StatetuneException("no GPU cuda:" + ordinal + " (this machine has " + count + ")");
        this.ordinal = ordinal;
        int device = driver.device(ordinal);
        deviceName = driver.deviceName(device);
        context = driver.primaryContext(device);
        driver.setCurrent(context);
        stream = driver.createStream();
        memory = new DeviceMemory(driver, ordinal, stream);
        cublas = new Cublas(stream, memory.scratch(Cublas.WORKSPACE_BYTES).address());
        kernels = new Kernels(driver, device, stream);
        scan = new CudaScan(kernels, memory);
    }

    @Override
    public String name() {
        return "cuda:" + ordinal + " (" + deviceName + (bf16 ? ", bf16 GEMMs" : "") + ")";
    }

    /** The step being recorded (captureStep), or null. */
    private StepRecording recording;
    /** How many scopes were open when the recording began: blocks the step allocates in scopes it opens are released as they close. */
    private int recordingScopes;

    @Override
    public StepGraph captureStep(java.util.function.Supplier<Tensor> step) {
        synchronize();   // nothing pending from before, no mirrors
        StepRecording r = new StepRecording(driver, memory, stream, this::synchronize);
        recording = r;
        recordingScopes = scopes.size();
        memory.beginCapture();
        driver.beginCapture(stream);
        Tensor result = null;
        RuntimeException failure = null;
        try {
            result = step.get();
        } catch (RuntimeException e) {
            failure = e;
        }
        recording = null;
        MemorySegment graph = driver.endCapture(stream);
        List<Long> blocks = memory.endCapture();
        mirrors.clear();   // their device blocks are the graph's now
        if (failure == null && graph != null) {
            r.finish(graph, result, blocks);
            return r;
        }
        r.abandon(graph, blocks);
        if (failure == null || failure instanceof StepRecording.NotRecordable) return null;
        throw failure;
    }

    @Override
    public void synchronize() {
        if (recording != null) {   // the step's own synchronize (before the host would read its result): nothing to wait for yet
            if (mirrors.values().stream().anyMatch(m -> m.written)) throw new StepRecording.NotRecordable("a step that writes host memory");
            return;
        }
        driver.synchronize(stream);
        stagingUsed = 0;   // the copies out of it are done
        for (Mirror m : mirrors.values()) {
            if (m.written) MemorySegment.copy(m.device, 0, m.host, 0, m.host.byteSize());
            memory.release(m.device);
        }
        mirrors.clear();
    }

    /** GPU memory this backend holds (its caching allocator's blocks), in bytes. */
    public long reservedBytes() {
        return memory.reservedBytes();
    }

    /** The blocks allocated in each open scope, innermost first. */
    private final ArrayDeque<List<MemorySegment>> scopes = new ArrayDeque<>();

    @Override
    public Scope openScope() {
        List<MemorySegment> blocks = new ArrayList<>();
        scopes.push(blocks);
        return new Scope() {
            @Override
            public void keep(Tensor... tensors) {
                if (scopes.peek() != blocks) throw new IllegalStateException("keep on a scope that is not the innermost");
                Iterator<List<MemorySegment>> outward = scopes.iterator();
                outward.next();
                if (!outward.hasNext()) throw new IllegalStateException("keep needs an enclosing scope");
                List<MemorySegment> parent = outward.next();
                if (recording != null && scopes.size() - 1 <= recordingScopes)
                    parent = new ArrayList<>();   // not to a scope outside the recording, which would free it: its graph keeps the block
                for (Tensor t : tensors) {
                    if (t == null) continue;
                    long at = t.data().address();
                    for (Iterator<MemorySegment> it = blocks.iterator(); it.hasNext(); ) {
                        MemorySegment b = it.next();
                        if (at >= b.address() && at < b.address() + Math.max(1, b.byteSize())) {
                            it.remove();
                            parent.add(b);
                            break;
                        }
                    }
                }
            }

            @Override
            public void close() {
                if (scopes.peek() != blocks) throw new IllegalStateException("scopes closed out of order");
                scopes.pop();
                blocks.forEach(memory::release);   // the stream runs later users of a block after the work queued on it
            }
        };
    }

    @Override
    public Tensor allocate(long... shape) {
        return allocate(shape, true);
    }

    @Override
    public Tensor allocateForOverwrite(long... shape) {
        return allocate(shape, false);
    }

    /** With --dtype bf16, in bf16: the scans and the conv read it in their _zbf16 / _bf16 variants. */
    @Override
    public Tensor allocateKept(long rows, long cols) {
        return allocate(new long[] {rows, cols}, false, bf16 ? DType.BF16 : DType.F32);
    }

    @Override
    public Tensor allocateKeptGradient(long rows, long cols) {
        return allocate(new long[] {rows, cols}, true, bf16 ? DType.BF16 : DType.F32);
    }

    private Tensor allocate(long[] shape, boolean zeroed) {
        return allocate(shape, zeroed, DType.F32);
    }

    /**
     * With --dtype bf16, with room for a bf16 copy after its floats, which the norms, the conv, the scan
     * and the gated norm fill as they write it and a linear then reads (Bf16Copies).
     */
    @Override
    public Tensor allocateLinearInput(long rows, long cols) {
        if (!bf16) return allocateForOverwrite(rows, cols);
        long n = rows * cols;
        MemorySegment block = block(6 * n);
        bf16Copies.add(block.address(), n, block.address() + 4 * n);
        return new Tensor(block.asSlice(0, 4 * n), DType.F32, rows, cols);
    }

    /** A device block of `bytes` for a new tensor: the recording's, the open scope's, or the caller's to keep. */
    private MemorySegment block(long bytes) {
        MemorySegment block;
        if (recording != null) {
            block = memory.scratch(bytes);   // the recording's: its graph keeps the block
            if (scopes.size() > recordingScopes) scopes.peek().add(block);   // a scope of the step's own: its later ops may reuse the block
        } else if (scopes.isEmpty()) {
            block = memory.allocate(bytes);
        } else {
            block = memory.scratch(bytes);
            scopes.peek().add(block);
        }
        bf16Copies.forget(block.address());
        return block;
    }

    private Tensor allocate(long[] shape, boolean zeroed, DType dtype) {
        long t0 = System.nanoTime(), bytes = Tensor.numel(shape) * dtype.bytes;
        MemorySegment block = block(bytes);
        long t1 = System.nanoTime();
        if (zeroed) driver.zeroAsync(block.address(), bytes, stream);
        if (OpTimes.ON) {
            times.add("allocate: block", t1 - t0);
            times.add("allocate: zeroing (host side)", System.nanoTime() - t1);
        }
        return new Tensor(block, dtype, shape);
    }

    @Override
    public Tensor prepareWeight(Tensor stored) {
        if (stored.dtype() != DType.F32 && stored.dtype() != DType.BF16) return prepareWeight(stored.toF32(Arena.ofAuto()));
        boolean keepBf16 = bf16 && bf16Sized(stored);
        long n = stored.numel();
        MemorySegment raw = memory.scratch(stored.data().byteSize());
        upload(stored.data(), raw.address());
        Tensor out;
        if (keepBf16) {
            out = new Tensor(memory.allocate(2 * n), DType.BF16, stored.shape());
            if (stored.dtype() == DType.BF16) driver.copyAsync(out.data().address(), raw.address(), 2 * n, stream);
            else toBf16(raw.address(), n, 0, out.data().address(), n, 1);
        } else {
            out = new Tensor(memory.allocate(4 * n), DType.F32, stored.shape());   // not allocate(): a weight outlives any scope
            if (stored.dtype() == DType.F32) driver.copyAsync(out.data().address(), raw.address(), 4 * n, stream);
            else kernels.launch("bf16_to_float", blocks(n), 1, BLOCK, raw.address(), out.data().address(), n);
        }
        memory.release(raw);
        synchronize();   // the source may be a mapped file or a heap array the caller reuses
        return out;
    }

    /** dst (rows, cols) = bf16(src[:, col : col+cols]) of src (rows, width). */
    private void toBf16(long src, long width, int col, long dst, long cols, long rows) {
        boolean by4 = ((width | col | cols) & 3) == 0 && ((src + 4L * col) & 15) == 0 && (dst & 7) == 0;
        kernels.launch(by4 ? "to_bf16_x4" : "to_bf16", blocks(by4 ? cols / 4 : cols), (int) Math.min(rows, 65535), BLOCK, src, width, col, dst,
                cols, rows);
    }

    /**
     * Whether GEMMs with weight w run on tensor cores in bf16: w is held in bf16, or, with bf16, it is
     * an fp32 matrix as large as those (a trained weight, fp32 master), rounded for each GEMM as
     * torch's autocast does. Its gradient still accumulates in fp32.
     */
    private boolean bf16Gemm(Tensor w) {
        return w.dtype() == DType.BF16 || bf16 && bf16Sized(w);
    }

    /**
     * A matrix whose GEMMs run in bf16 with --dtype bf16: both sides at least 32 (in_proj, x_proj,
     * dt_proj, out_proj, the embedding; not LoRA's low-rank factors nor the conv's taps).
     */
    private static boolean bf16Sized(Tensor w) {
        return w.rank() == 2 && Math.min(w.size(0), w.size(1)) >= 32;
    }

    /** A GEMM operand's device address, and the scratch copy it lives in (null: none to release). */
    private record Operand(long address, MemorySegment copy) {}

    /** Matrix w in bf16: w itself when held so, else a rounded copy. */
    private Operand bf16Matrix(Tensor w) {
        if (w.dtype() == DType.BF16) return new Operand(ptr(w), null);
        int rows = (int) w.size(0), cols = (int) w.size(1);
        MemorySegment copy = bf16Operand(ptr(w), cols, 0, rows, cols);
        return new Operand(copy.address(), copy);
    }

    /**
     * t[:, col : col+cols] in bf16 for a tensor-core GEMM: t itself when held in bf16 (allocateKeptGradient's), its
     * current copy (Bf16Copies), else a rounded copy.
     */
    private Operand bf16Input(Tensor t, int col, int cols) {
        if (t.dtype() == DType.BF16) {
            if (col != 0 || cols != t.size(1)) throw new IllegalArgumentException("a bf16 operand is read whole, not columns " + col + "+" + cols);
            return new Operand(ptr(t), null);
        }
        long copy = bf16Copies.current(t, col, cols);
        if (copy != 0) return new Operand(copy, null);
        MemorySegment rounded = bf16Operand(ptr(t), (int) t.size(1), col, (int) t.size(0), cols);
        return new Operand(rounded.address(), rounded);
    }

    private void release(Operand o) {
        if (o.copy() != null) memory.release(o.copy());
    }

    /** A bf16 copy of x[:, col : col+cols] (rows, cols) for a tensor-core GEMM; release it when queued. */
    private MemorySegment bf16Operand(long x, int width, int col, int rows, int cols) {
        long n = (long) rows * cols;
        MemorySegment b = memory.scratch(2 * n);
        toBf16(x, width, col, b.address(), cols, rows);
        return b;
    }

    /**
     * Page-locked memory that small uploads are staged in (a step's token ids and targets, an optimizer's scalars): a copy from
     * pageable memory may wait for the stream, one from here does not. Filled from the start again after each synchronize,
     * when the copies out of it are done.
     */
    private MemorySegment staging;
    private long stagingUsed;
    private static final long STAGING_BYTES = 4 << 20;

    /** Copies host bytes to a device address, ordered on the stream, without waiting for it. */
    private void upload(MemorySegment host, long device) {
        if (recording != null) {   // a recorded copy reads page-locked memory, which every replay fills again
            driver.copyAsync(device, recording.input(host).address(), host.byteSize(), stream);
            return;
        }
        long bytes = host.byteSize();
        if (bytes <= STAGING_BYTES - stagingUsed) {
            if (staging == null) staging = driver.allocHost(STAGING_BYTES);
            MemorySegment slot = staging.asSlice(stagingUsed, bytes);
            slot.copyFrom(host);
            driver.copyAsync(device, slot.address(), bytes, stream);
            stagingUsed += (bytes + 15) & ~15;
            return;
        }
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

    /** Device copies of the host tensors ops used since the last synchronize, by host memory. */
    private final Map<HostRange, Mirror> mirrors = new HashMap<>();

    /** Device copies of whole host arrays that outlive synchronize (keepResident), by array. */
    private final Map<Object, MemorySegment> resident = new IdentityHashMap<>();

    /** A host tensor's memory: its heap array (null for native memory) and its offset or address there. */
    private record HostRange(Object array, long address, long bytes) {}

    private static final class Mirror {
        final MemorySegment host, device;
        boolean written;

        Mirror(MemorySegment host, MemorySegment device) {
            this.host = host;
            this.device = device;
        }
    }

    /** The device address of an op's input (0 for null). */
    private long ptr(Tensor t) {
        return address(t, false);
    }

    /** The device address of an op's output or accumulated gradient (0 for null). */
    private long out(Tensor t) {
        return address(t, true);
    }

    /**
     * t's own address when it lives on this GPU. A host tensor (an adapter's parameters and their
     * gradients live in Java arrays) gets a device mirror, made once and shared by the ops until the
     * next synchronize, which copies written mirrors back to the host and drops them all.
     */
    private long address(Tensor t, boolean written) {
        if (t == null) return 0L;
        MemorySegment s = t.data();
        if (s.isNative() && memory.owns(s.address())) {
            if (written) bf16Copies.written(s.address());
            return s.address();
        }
        long kept = residentAddress(s);
        if (kept != 0) return kept;
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("host tensor of " + t.dtype() + " given to the CUDA backend");
        Mirror m = mirrors.computeIfAbsent(new HostRange(s.heapBase().orElse(null), s.address(), s.byteSize()), k -> {
            MemorySegment device = memory.scratch(s.byteSize());
            upload(s, device.address());
            return new Mirror(s, device);
        });
        if (written && recording != null) throw new StepRecording.NotRecordable("a step that writes host memory");
        m.written |= written;
        return m.device.address();
    }

    private static int blocks(long n) {
        return Math.toIntExact((n + BLOCK - 1) / BLOCK);
    }

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        MemorySegment idsOnGpu = memory.scratch(4L * ids.length);
        if (recording != null) driver.copyAsync(idsOnGpu.address(), recording.ids(ids).address(), 4L * ids.length, stream);
        else upload(MemorySegment.ofArray(ids), idsOnGpu.address());
        kernels.launch(table.dtype() == DType.BF16 ? "embedding_bf16" : "embedding", ids.length, 1, BLOCK, idsOnGpu.address(), ptr(table),
                out(out), (int) table.size(1));
        memory.release(idsOnGpu);
    }

    /**
     * Page-locked host memory the argmax kernel writes its ids into (the device reaches it through unified addressing):
     * a decode loop reads ids after every step, and a managed block would move between host and device each time.
     */
    private MemorySegment argmaxIds;
    /** The most parts argmaxRows cuts a row into (each of at least 8 values a thread). */
    private static final int ARGMAX_PARTS = 32;

    @Override
    public int[] argmaxRows(Tensor logits) {
        int rows = (int) logits.size(0);
        if (argmaxIds == null || argmaxIds.byteSize() < 4L * rows) {
            if (argmaxIds != null) driver.freeHost(argmaxIds);
            argmaxIds = driver.allocHost(4L * rows);
        }
        int width = (int) logits.size(1), parts = Math.max(1, Math.min(ARGMAX_PARTS, width / (8 * BLOCK))), span = (width + parts - 1) / parts;
        MemorySegment partMax = memory.scratch(4L * rows * parts), partArg = memory.scratch(4L * rows * parts);   // (rows, parts)
        kernels.launch("argmax_parts", rows, parts, BLOCK, ptr(logits), width, span, partMax.address(), partArg.address());
        kernels.launch("argmax_finish", (rows + BLOCK - 1) / BLOCK, 1, BLOCK, partMax.address(), partArg.address(), rows, parts,
                argmaxIds.address());
        memory.release(partMax);
        memory.release(partArg);
        synchronize();
        return argmaxIds.asSlice(0, 4L * rows).toArray(ValueLayout.JAVA_INT);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out) {
        timed("rmsNorm", () -> {
            long o = out(out);
            kernels.launch("rms_norm", (int) x.size(0), 1, BLOCK, ptr(x), ptr(weight), eps, o, bf16Copies.fill(out), (int) x.size(1));
        });
    }

    @Override
    public void addRmsNorm(Tensor residual, Tensor add, Tensor weight, float eps, Tensor out) {
        timed("rmsNorm", () -> {
            long o = out(out);
            kernels.launch("add_rms_norm", (int) residual.size(0), 1, BLOCK, out(residual), ptr(add), ptr(weight), eps, o,
                    bf16Copies.fill(out), (int) residual.size(1));
        });
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        driver.copyAsync(out(dst), ptr(src), src.data().byteSize(), stream);
    }

    @Override
    public void copyColumns(Tensor src, int col, Tensor dst) {
        long n = dst.numel();
        kernels.launch("copy_columns", blocks(n), 1, BLOCK, ptr(src), (int) src.size(1), col, out(dst), (int) dst.size(1), n);
    }

    @Override
    public void addScaledColumns(Tensor dst, int col, Tensor src, float scale) {
        long n = src.numel();
        kernels.launch("add_scaled_columns", blocks(n), 1, BLOCK, out(dst), (int) dst.size(1), col, ptr(src), (int) src.size(1), scale, n);
    }

    @Override
    public void multiplyInPlace(Tensor acc, Tensor x) {
        kernels.launch("multiply_in_place", blocks(acc.numel()), 1, BLOCK, out(acc), ptr(x), acc.numel());
    }

    @Override
    public void negExp(Tensor src, Tensor dst) {
        long n = src.numel();
        if (src.dtype() == DType.BF16) {   // a weight kept in bf16
            MemorySegment f = memory.scratch(4 * n);
            kernels.launch("bf16_to_float", blocks(n), 1, BLOCK, src.data().address(), f.address(), n);
            kernels.launch("neg_exp", blocks(n), 1, BLOCK, f.address(), out(dst), n);
            memory.release(f);
        } else {
            kernels.launch("neg_exp", blocks(n), 1, BLOCK, ptr(src), out(dst), n);
        }
    }

    @Override
    public void addInPlace(Tensor acc, Tensor x) {
        kernels.launch("add_in_place", blocks(acc.numel()), 1, BLOCK, out(acc), ptr(x), acc.numel());
    }

    @Override
    public void linear(Tensor x, int xCol, Tensor w, Tensor bias, Tensor out) {
        timed("linear", () -> {
            int rows = (int) x.size(0), n = (int) w.size(0), k = (int) w.size(1);
            if (out.size(1) != n) throw new IllegalArgumentException("linear: out width " + out.size(1) + " for " + n + " outputs");
            boolean halfOut = out.dtype() == DType.BF16;
            if (halfOut && (bias != null || !bf16Gemm(w))) throw new IllegalArgumentException("linear: a bf16 output needs a bf16 GEMM without bias");
            // Row-major out (rows, n) = x (rows, k) · wᵀ is, column-major, out (n × rows) = wᵀ (n × k) · x (k × rows).
            if (bf16Gemm(w)) {
                long t0 = System.nanoTime();
                Operand xb = bf16Input(x, xCol, k), wb = bf16Matrix(w);
                long t1 = System.nanoTime();
                if (halfOut) cublas.gemmIntoBf16(Cublas.OP_T, Cublas.OP_N, n, rows, k, wb.address(), k, xb.address(), k, out(out), n);
                else cublas.gemm(Cublas.OP_T, Cublas.OP_N, n, rows, k, wb.address(), Cublas.R_16BF, k, xb.address(), Cublas.R_16BF, k, false,
                        out(out), n, ptr(bias));
                if (OpTimes.ON) {
                    times.add("linear: bf16 operand (host)", t1 - t0);
                    times.add("linear: gemm call (host)", System.nanoTime() - t1);
                }
                release(xb);
                release(wb);
            } else {
                cublas.gemm(Cublas.OP_T, Cublas.OP_N, n, rows, k, ptr(w), Cublas.R_32F, k, ptr(x) + 4L * xCol, Cublas.R_32F, (int) x.size(1),
                        false, out(out), n, ptr(bias));   // the bias is added in the GEMM's epilogue
            }
        });
    }

    @Override
    public void causalConv1dSilu(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        timed("conv", () -> {
            int di = (int) out.size(1), k = convWidth(weight);
            long x = column(ptr(in), in, inCol);   // the kernels read rows of in's width from there
            long o = out(out);
            kernels.launch3d("causal_conv1d_silu_k" + k + half(in), (di + 127) / 128, batch, chunks(len), 128, 0, x, (int) in.size(1), len,
                    ptr(weight), ptr(bias), out(convState), o, bf16Copies.fill(out), di, CONV_CHUNK);
            if (chunks(len) > 1)   // one chunk: the conv kernel moved the state on itself
                kernels.launch("conv_state_update" + half(in), (di + 127) / 128, batch, 128, x, (int) in.size(1), len, out(convState), di, k);
        });
    }

    /** The address of column col of activation t at address (float32, or bf16 as allocateKept's). */
    private static long column(long address, Tensor t, int col) {
        return address + (t.dtype() == DType.BF16 ? 2L : 4L) * col;
    }

    /** The suffix of a conv kernel's variant that reads its input as t holds it. */
    private static String half(Tensor t) {
        return t.dtype() == DType.BF16 ? "_bf16" : "";
    }

    /** The conv kernels' width k (variants _k2 … _k8) of weight (di, 1, k). */
    private static int convWidth(Tensor weight) {
        int k = (int) weight.size(-1);
        if (k < 2 || k > 8) throw new StatetuneException("the CUDA conv kernels take conv widths 2 to 8, not " + k);
        return k;
    }

    /** Positions one conv thread walks; a sequence is cut into chunks of this many, one thread each. */
    private static final int CONV_CHUNK = 64;

    private static int chunks(int len) {
        return (len + CONV_CHUNK - 1) / CONV_CHUNK;
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        selectiveScan(x, dt, A, bc, bCol, D, z, zCol, batch, len, state, hOffset, yOffset, y, null);
    }

    /**
     * The most sequences × dt_proj inputs for which a decode step computes dt_proj inside the scan's kernel: each lane
     * reads its share of a weight row per sequence, which beats a GEMM launch for few sequences (H100: 130m at batch 64,
     * r 48) but not for many with a wide row (1.4b at batch 64, r 128: 16.1k tok/s through the GEMM, 11.4k inside).
     */
    private static final long STEP_DT_PROJ_TERMS = 4096;

    @Override
    public void selectiveScanStep(Tensor dtIn, Tensor dtProj, Tensor dtProjBias, Tensor dt, Tensor x, Tensor A, Tensor bc, int bCol,
                                  Tensor D, Tensor z, int zCol, int batch, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        if (!CudaScan.takesSteps((int) A.size(1)) || z.dtype() != DType.F32 || (long) batch * dtProj.size(1) > STEP_DT_PROJ_TERMS) {
            Backend.super.selectiveScanStep(dtIn, dtProj, dtProjBias, dt, x, A, bc, bCol, D, z, zCol, batch, state, hOffset, yOffset, y);
            return;
        }
        timed("scan step", () -> {
            long o = out(y);
            scan.step((int) A.size(0), (int) A.size(1), batch, ptr(x), 0L, ptr(dtIn), (int) dtIn.size(1), ptr(dtProj),
                    dtProj.dtype() == DType.BF16, ptr(dtProjBias), (int) dtProj.size(1), ptr(A), ptr(bc), (int) bc.size(1), bCol, ptr(D), ptr(z),
                    (int) z.size(1), zCol, out(state), ptr(hOffset), ptr(yOffset), o, bf16Copies.fill(y));
        });
    }

    @Override
    public Tensor scanMemo(int batch, int len, int di, int n) {
        return allocateForOverwrite(CudaScan.memoFloats(batch, len, di, n));   // the forward writes every chunk's start
    }

    @Override
    public void selectiveScan(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol,
                              int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y, Tensor memo) {
        timed("scan", () -> {
            long o = out(y);
            scan.forward((int) A.size(0), (int) A.size(1), batch, len, ptr(x), ptr(dt), ptr(A), ptr(bc), (int) bc.size(1), bCol, ptr(D),
                    z.dtype() == DType.BF16, ptr(z), (int) z.size(1), zCol, out(state), ptr(hOffset), ptr(yOffset), o, bf16Copies.fill(y),
                    out(memo));
        });
    }

    @Override
    public void ssdScan(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D, SsdDims dims,
                        int batch, int len, Tensor state, Tensor hOffset, Tensor yOffset, Tensor y) {
        timed("ssd scan", () -> new CudaSsd(kernels, memory, cublas, bf16).scan(dims, batch, len, ptr(xBC), ptr(dtRaw),
                dtRaw.dtype() == DType.BF16, (int) dtRaw.size(1), dtCol, ptr(dtBias), dtMin, dtMax, ptr(A), ptr(D), out(state), ptr(hOffset),
                ptr(yOffset), out(y)));
    }

    @Override
    public void gatedRmsNorm(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor out) {
        timed("gated norm", () -> {
            long o = out(out);
            new CudaSsd(kernels, memory, cublas, bf16).gatedRmsNorm((int) y.size(0), (int) y.size(1), ptr(y), ptr(z), z.dtype() == DType.BF16,
                    (int) z.size(1), zCol, ptr(weight), groupSize, eps, o, bf16Copies.fill(out));
        });
    }

    @Override
    public void ssdScanBackward(Tensor xBC, Tensor dtRaw, int dtCol, Tensor dtBias, float dtMin, float dtMax, Tensor A, Tensor D, SsdDims dims,
                                int batch, int len, Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, SsdGrads g) {
        if (g.dDtRaw().dtype() != dtRaw.dtype())
            throw new IllegalArgumentException("ssd backward: dDtRaw of " + g.dDtRaw().dtype() + " for dtRaw of " + dtRaw.dtype());
        timed("ssd scan backward", () -> new CudaSsd(kernels, memory, cublas, bf16).scanBackward(dims, batch, len, ptr(xBC),
                ptr(dtRaw), dtRaw.dtype() == DType.BF16, (int) dtRaw.size(1), dtCol, ptr(dtBias), dtMin, dtMax, ptr(A), ptr(D), ptr(h0),
                ptr(hOffset), ptr(dy),
                out(g.dxBC()), out(g.dDtRaw()), (int) g.dDtRaw().size(1), out(g.dDtBias()), out(g.dA()), out(g.dD()), out(g.dh0()),
                out(g.dhOffset()), out(g.dyOffset())));
    }

    @Override
    public void gatedRmsNormBackward(Tensor y, Tensor z, int zCol, Tensor weight, int groupSize, float eps, Tensor dOut,
                                     Tensor dy, Tensor dz, Tensor dWeight) {
        if (dz != null && dz.dtype() != z.dtype())
            throw new IllegalArgumentException("gated norm backward: dz of " + dz.dtype() + " for z of " + z.dtype());
        timed("gated norm backward", () -> new CudaSsd(kernels, memory, cublas, bf16).gatedRmsNormBackward((int) y.size(0), (int) y.size(1),
                ptr(y), ptr(z), z.dtype() == DType.BF16, (int) z.size(1), zCol, ptr(weight), groupSize, eps, ptr(dOut), out(dy), out(dz), out(dWeight)));
    }

    @Override
    public void dropout(Tensor src, int col, float p, Tensor seed, long salt, Tensor out, Tensor mask) {
        MemorySegment seedOnGpu = memory.scratch(8);   // the seed as it is now (a recording: as it is at each replay)
        upload(seed.data(), seedOnGpu.address());
        // The CPU backend's draws (one SplittableRandom stream), computed per element on the GPU.
        long n = out.numel();
        kernels.launch("dropout", blocks(n), 1, BLOCK, ptr(src), (int) src.size(1), col, out(out), (int) out.size(1), out(mask), p,
                seedOnGpu.address(), salt, n);
        memory.release(seedOnGpu);
    }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, Tensor dTable) {
        MemorySegment idsOnGpu = memory.scratch(4L * ids.length);
        upload(MemorySegment.ofArray(ids), idsOnGpu.address());
        kernels.launch("embedding_backward", ids.length, 1, BLOCK, idsOnGpu.address(), ptr(dOut), out(dTable), (int) dOut.size(1));
        memory.release(idsOnGpu);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, float eps, Tensor dOut, Tensor dx, Tensor dWeight) {
        timed("rmsNorm backward", () -> {
            kernels.launch("rms_norm_backward", (int) x.size(0), 1, BLOCK, ptr(x), ptr(weight), eps, ptr(dOut), out(dx), out(dWeight),
                    (int) x.size(1));
        });
    }

    @Override
    public void linearBackward(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, Tensor dW, Tensor dBias) {
        linearBackward(x, xCol, w, dOut, dx, dxCol, true, dW, dBias);
    }

    @Override
    public void linearBackwardOverwritingDx(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, Tensor dW, Tensor dBias) {
        linearBackward(x, xCol, w, dOut, dx, 0, false, dW, dBias);   // the GEMM writes dx with β = 0
    }

    private void linearBackward(Tensor x, int xCol, Tensor w, Tensor dOut, Tensor dx, int dxCol, boolean addToDx, Tensor dW, Tensor dBias) {
        timed("linear backward", () -> {
            int rows = (int) dOut.size(0), n = (int) dOut.size(1), k = (int) w.size(1);
            long g = ptr(dOut);
            boolean half = bf16Gemm(w), halfOut = dOut.dtype() == DType.BF16;   // dOut: allocateKeptGradient's, already bf16
            if (halfOut && (!half || dBias != null)) throw new IllegalArgumentException("linear backward: a bf16 dOut needs a bf16 GEMM without dBias");
            Operand gb = half ? bf16Input(dOut, 0, n) : null;   // dOut in bf16
            // Row-major dx (rows, k) += dOut (rows, n) · w (n, k): column-major dxᵀ (k × rows) += wᵀ (k × n) · dOutᵀ (n × rows).
            if (dx != null && half) {
                Operand wb = bf16Matrix(w);
                cublas.gemm(Cublas.OP_N, Cublas.OP_N, k, rows, n, wb.address(), Cublas.R_16BF, k, gb.address(), Cublas.R_16BF, n, addToDx,
                        out(dx) + 4L * dxCol, (int) dx.size(1));
                release(wb);
            } else if (dx != null) {
                cublas.gemm(Cublas.OP_N, Cublas.OP_N, k, rows, n, ptr(w), Cublas.R_32F, k, g, Cublas.R_32F, n, addToDx,
                        out(dx) + 4L * dxCol, (int) dx.size(1));
            }
            // Row-major dW (n, k) += dOutᵀ · x: column-major dWᵀ (k × n) += xᵀ (k × rows) · dOut (rows × n), into the fp32 gradient.
            if (dW != null && half) {
                Operand xb = bf16Input(x, xCol, k);
                cublas.gemm(Cublas.OP_N, Cublas.OP_T, k, n, rows, xb.address(), Cublas.R_16BF, k, gb.address(), Cublas.R_16BF, n, true, out(dW), k);
                release(xb);
            } else if (dW != null) {
                cublas.gemm(Cublas.OP_N, Cublas.OP_T, k, n, rows, ptr(x) + 4L * xCol, Cublas.R_32F, (int) x.size(1), g, Cublas.R_32F, n, true,
                        out(dW), k);
            }
            if (gb != null) release(gb);
            if (dBias != null) kernels.launch("column_sums", blocks(n), 1, BLOCK, g, out(dBias), rows, n);
        });
    }

    @Override
    public void causalConv1dSiluBackward(Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor state0, Tensor dOut,
                                         Tensor dIn, Tensor dWeight, Tensor dBias, Tensor dState0) {
        timed("conv backward", () -> {
            int di = (int) dOut.size(1), k = convWidth(weight);
            if (dIn != null && dIn.dtype() != in.dtype()) throw new IllegalArgumentException("conv backward: dIn of " + dIn.dtype() + " for in of " + in.dtype());
            kernels.launch3d("causal_conv1d_silu_backward_k" + k + half(in), (di + 127) / 128, batch, chunks(len), 128, 0, column(ptr(in), in, inCol),
                    (int) in.size(1), len, ptr(weight), ptr(bias), ptr(state0), ptr(dOut), dIn == null ? 0L : column(out(dIn), dIn, inCol),
                    dIn == null ? 0 : (int) dIn.size(1), out(dWeight),
                    out(dBias), out(dState0), di, CONV_CHUNK);
        });
    }

    @Override
    public void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol, int batch, int len,
                                      Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads g) {
        selectiveScanBackward(x, dt, A, bc, bCol, D, z, zCol, batch, len, h0, hOffset, yOffset, dy, g, null);
    }

    @Override
    public void selectiveScanBackward(Tensor x, Tensor dt, Tensor A, Tensor bc, int bCol, Tensor D, Tensor z, int zCol, int batch, int len,
                                      Tensor h0, Tensor hOffset, Tensor yOffset, Tensor dy, ScanGrads g, Tensor memo) {
        if (g.dz() != null && g.dz().dtype() != z.dtype()) throw new IllegalArgumentException("scan backward: dz of " + g.dz().dtype() + " for z of " + z.dtype());
        timed("scan backward", () -> scan.backward((int) A.size(0), (int) A.size(1), batch, len, ptr(x), ptr(dt), ptr(A), ptr(bc),
                (int) bc.size(1), bCol, ptr(D), z.dtype() == DType.BF16, ptr(z), (int) z.size(1), zCol, ptr(h0), ptr(hOffset), ptr(yOffset), ptr(dy), out(g.dx()),
                out(g.ddt()), out(g.dbc()), (int) g.dbc().size(1), out(g.dz()), out(g.dA()), out(g.dD()), out(g.dh0()), out(g.dhOffset()),
                out(g.dyOffset()), ptr(memo)));
    }

    /** Logit rows computed at once by crossEntropy: (rows, vocab) float32, 412 MB for GPT-NeoX's vocabulary. */
    private static final int LOSS_CHUNK = 2048;

    @Override
    public void crossEntropy(Tensor hidden, Tensor w, int[] targets, Tensor dHidden, Tensor dW, Tensor sums) {
        long t0 = System.nanoTime();
        int rows = targets.length, d = (int) hidden.size(1), vocab = (int) w.size(0);
        for (int t : targets) if (t >= vocab) throw new IllegalArgumentException("target id " + t + " outside the vocabulary");
        MemorySegment targetsOnGpu = memory.scratch(4L * rows), loss = memory.scratch(4L * rows), hit = memory.scratch(4L * rows),
                scale = memory.scratch(4);
        upload(MemorySegment.ofArray(targets), targetsOnGpu.address());
        kernels.launch("target_scale", 1, 1, BLOCK, targetsOnGpu.address(), rows, scale.address());
        int chunk = Math.min(rows, LOSS_CHUNK);
        MemorySegment logits = memory.scratch(4L * chunk * vocab);   // (chunk, vocab)
        long h = ptr(hidden), dh = out(dHidden), dw = out(dW);
        boolean half = bf16Gemm(w);
        Operand wb = half ? bf16Matrix(w) : new Operand(ptr(w), null);
        long wp = wb.address();
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int m = Math.min(chunk, rows - r0);
            // logits (m, vocab) = hidden[r0 : r0+m] · wᵀ
            MemorySegment hb = half ? bf16Operand(h + 4L * r0 * d, d, 0, m, d) : null;
            cublas.gemm(Cublas.OP_T, Cublas.OP_N, vocab, m, d, wp, half ? Cublas.R_16BF : Cublas.R_32F, d, half ? hb.address() : h + 4L * r0 * d,
                    half ? Cublas.R_16BF : Cublas.R_32F, d, false, logits.address(), vocab);
            MemorySegment gb = half && dHidden != null ? memory.scratch(2L * m * vocab) : null;   // the gradient G in bf16
            kernels.launch("cross_entropy_rows", m, 1, BLOCK, logits.address(), targetsOnGpu.address() + 4L * r0, vocab, scale.address(),
                    dHidden != null ? 1 : 0, loss.address() + 4L * r0, hit.address() + 4L * r0, gb == null ? 0L : gb.address());
            if (dHidden != null) {
                // dHidden[r0 : r0+m] += G (m, vocab) · w (vocab, d);  dW (vocab, d) += Gᵀ · hidden[r0 : r0+m]
                if (half) {
                    cublas.gemm(Cublas.OP_N, Cublas.OP_N, d, m, vocab, wp, Cublas.R_16BF, d, gb.address(), Cublas.R_16BF, vocab, true,
                            dh + 4L * r0 * d, d);
                    if (dW != null)
                        cublas.gemm(Cublas.OP_N, Cublas.OP_T, d, vocab, m, hb.address(), Cublas.R_16BF, d, gb.address(), Cublas.R_16BF, vocab, true,
                                dw, d);
                    memory.release(gb);
                } else {
                    cublas.gemm(Cublas.OP_N, Cublas.OP_N, d, m, vocab, wp, Cublas.R_32F, d, logits.address(), Cublas.R_32F, vocab, true,
                            dh + 4L * r0 * d, d);
                    if (dW != null)
                        cublas.gemm(Cublas.OP_N, Cublas.OP_T, d, vocab, m, h + 4L * r0 * d, Cublas.R_32F, d, logits.address(), Cublas.R_32F, vocab,
                                true, dw, d);
                }
            }
            if (hb != null) memory.release(hb);
        }
        release(wb);
        kernels.launch("loss_sums", 1, 1, BLOCK, loss.address(), hit.address(), targetsOnGpu.address(), rows, out(sums));
        for (MemorySegment m : new MemorySegment[] {targetsOnGpu, loss, hit, scale, logits}) memory.release(m);
        if (OpTimes.ON) times.add("cross entropy (host side)", System.nanoTime() - t0);
    }

    @Override
    public void keepResident(Tensor host) {
        MemorySegment s = host.data();
        Object array = s.heapBase().orElseThrow(() -> new IllegalArgumentException("keepResident: not a host array"));
        resident.computeIfAbsent(array, a -> {
            MemorySegment whole = MemorySegment.ofArray((float[]) a), device = memory.scratch(whole.byteSize());
            upload(whole, device.address());
            return device;
        });
    }

    @Override
    public void writeBackResident() {
        synchronize();
        resident.forEach((array, device) -> {
            MemorySegment host = MemorySegment.ofArray((float[]) array);
            MemorySegment.copy(device, 0, host, 0, host.byteSize());
        });
    }

    @Override
    public void dropResident() {
        writeBackResident();
        resident.values().forEach(memory::release);
        resident.clear();
    }

    @Override
    public void adamwStep(Tensor x, Tensor g, Tensor m, Tensor v, AdamWStep s) {
        long n = x.numel();
        timed("optimizer", () -> kernels.launch("adamw_step", gridStride(n), 1, BLOCK, out(x), ptr(g), out(m), out(v), n, s.decays() ? 1 : 0,
                ptr(s.schedule()), s.w1(), s.b2(), s.w2(), s.eps()));
    }

    @Override
    public void sgdStep(Tensor x, Tensor g, Tensor lr, float wd) {
        long n = x.numel();
        timed("optimizer", () -> kernels.launch("sgd_step", gridStride(n), 1, BLOCK, out(x), ptr(g), n, ptr(lr), wd));
    }

    @Override
    public Tensor allocateSums(int n) {
        return allocate(new long[] {n}, true, DType.F64);
    }

    @Override
    public void sumOfSquares(List<Tensor> tensors, Tensor into) {
        for (Tensor t : tensors) kernels.launch("sum_of_squares", gridStride(t.numel()), 1, BLOCK, ptr(t), t.numel(), out(into));
    }

    @Override
    public void clipToNorm(List<Tensor> tensors, Tensor sumOfSquares, double maxNorm) {
        for (Tensor t : tensors) kernels.launch("clip_to_norm", gridStride(t.numel()), 1, BLOCK, out(t), t.numel(), ptr(sumOfSquares), maxNorm);
    }

    @Override
    public void scaleInPlace(Tensor t, float c) {
        kernels.launch("scale_in_place", gridStride(t.numel()), 1, BLOCK, out(t), t.numel(), c);
    }

    @Override
    public void zero(Tensor t) {
        MemorySegment s = t.data();
        if (s.isNative() && memory.owns(s.address()) || residentAddress(s) != 0) driver.zeroAsync(out(t), s.byteSize(), stream);
        else s.fill((byte) 0);   // a host array the GPU holds no copy of
    }

    /** The device address of a heap segment's bytes in its array's resident copy (keepResident), or 0 without one. */
    private long residentAddress(MemorySegment s) {
        MemorySegment kept = s.heapBase().map(resident::get).orElse(null);
        return kept == null ? 0L : kept.address() + s.address();   // a heap segment's address is its offset in the array
    }

    /** Blocks of a grid-stride loop over n elements: enough to fill the GPU, no more. */
    private static int gridStride(long n) {
        return (int) Math.max(1, Math.min(4096, (n + BLOCK - 1) / BLOCK));
    }

    @Override
    public void close() {
        dropResident();
        synchronize();
        if (argmaxIds != null) driver.freeHost(argmaxIds);
        if (staging != null) driver.freeHost(staging);
        times.print();
        if (OpTimes.ON) System.err.printf("  %d blocks reserved from the driver, %.2f GiB%n", memory.reservations, memory.reservedBytes() / 1073741824.0);
        memory.close();
    }
}
