package dev.statetune.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.statetune.StatetuneException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt (libcublasLt.so.13, else .12) for the GEMMs, in column-major terms, on the backend's
 * stream. FP32 compute without TF32, so results match the CPU's fp32 (gemmInBf16 asks for bf16 tensor
 * cores on fp32 matrices instead, for --dtype bf16). A GEMM's plan (descriptors
 * and the heuristic's algorithm) is made once per shape and pointer alignment and kept, so a call
 * costs one cublasLtMatmul: a decode step makes about a hundred small GEMMs.
 */
final class Cublas {
    static final int OP_N = 0, OP_T = 1;
    static final int R_32F = 0, R_16BF = 14;
    private static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_16BF = 75, DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8, EPILOGUE_BIAS = 4;
    private static final int PREF_MAX_WORKSPACE = 1, PREF_ALIGN_A = 5, PREF_ALIGN_B = 6, PREF_ALIGN_C = 7, PREF_ALIGN_D = 8;
    private static final long HEURISTIC_RESULT_BYTES = 96;   // cublasLtMatmulHeuristicResult_t: algo (64 bytes) first
    private static final int MAX_PLANS = 1024;

    /** cuBLASLt's workspace, given once so that no call allocates one. */
    static final long WORKSPACE_BYTES = 32L << 20;

    private final MethodHandle matmul, descCreate, descSet, layoutCreate, prefCreate, prefSet, heuristic, descDestroy, layoutDestroy, prefDestroy;
    private final MemorySegment handle, stream;
    private final long workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one, zero, biasPointer;

    /** What a plan depends on: the GEMM's shape, types, leading dimensions, its pointers' alignments and whether it adds a bias. */
    private record Shape(int transA, int transB, int m, int n, int k, int aType, int lda, int bType, int ldb, int cType, int ldc,
                         int alignA, int alignB, int alignC, boolean bias, boolean inBf16) {}

    /** The descriptors and algorithm of one Shape. */
    private record Plan(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment algo) {}

    private final Map<Shape, Plan> plans = new LinkedHashMap<>(16, 0.75f, true) {   // least recently used first
        @Override
        protected boolean removeEldestEntry(Map.Entry<Shape, Plan> eldest) {
            if (size() <= MAX_PLANS) return false;
            destroy(eldest.getValue());
            return true;
        }
    };

    Cublas(MemorySegment stream, long workspace) {
        this.stream = stream;
        this.workspace = workspace;
        NativeLibrary lib = NativeLibrary.open("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so");
        MethodHandle create = lib.function("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        matmul = lib.function("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
                ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        descCreate = lib.function("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        descSet = lib.function("cublasLtMatmulDescSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        layoutCreate = lib.function("cublasLtMatrixLayoutCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        prefCreate = lib.function("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefSet = lib.function("cublasLtMatmulPreferenceSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        heuristic = lib.function("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        descDestroy = lib.function("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        layoutDestroy = lib.function("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefDestroy = lib.function("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MemorySegment h = arena.allocate(ADDRESS);
        check("cublasLtCreate", NativeLibrary.call(create, h));
        handle = h.get(ADDRESS, 0);
        one = arena.allocateFrom(JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        biasPointer = arena.allocate(JAVA_LONG);
    }

    /** C (m×n, ldc) = op(A) · op(B) (+ C when accumulate), column-major, fp32 accumulation. */
    void gemm(int transA, int transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
              boolean accumulate, long c, int ldc) {
        gemm(transA, transB, m, n, k, a, aType, lda, b, bType, ldb, accumulate, c, ldc, 0L, false);
    }

    /** As above, adding bias (m floats; 0: none) to every column of C in the GEMM's epilogue. */
    void gemm(int transA, int transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
              boolean accumulate, long c, int ldc, long bias) {
        gemm(transA, transB, m, n, k, a, aType, lda, b, bType, ldb, accumulate, c, ldc, bias, false);
    }

    /** As gemm on fp32 matrices, multiplied on tensor cores with operands rounded to bf16 (CUBLAS_COMPUTE_32F_FAST_16BF). */
    void gemmInBf16(int transA, int transB, int m, int n, int k, long a, int lda, long b, int ldb, boolean accumulate, long c, int ldc) {
        gemm(transA, transB, m, n, k, a, R_32F, lda, b, R_32F, ldb, accumulate, c, R_32F, ldc, 0L, true);
    }

    /** C (m×n, ldc, bf16) = op(A) · op(B) of bf16 A and B, accumulated in fp32 and rounded once. */
    void gemmIntoBf16(int transA, int transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        gemm(transA, transB, m, n, k, a, R_16BF, lda, b, R_16BF, ldb, false, c, R_16BF, ldc, 0L, false);
    }

    private void gemm(int transA, int transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                      boolean accumulate, long c, int ldc, long bias, boolean inBf16) {
        gemm(transA, transB, m, n, k, a, aType, lda, b, bType, ldb, accumulate, c, R_32F, ldc, bias, inBf16);
    }

    private synchronized void gemm(int transA, int transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                                   boolean accumulate, long c, int cType, int ldc, long bias, boolean inBf16) {
        Shape shape = new Shape(transA, transB, m, n, k, aType, lda, bType, ldb, cType, ldc, alignment(a), alignment(b), alignment(c), bias != 0,
                inBf16);
        Plan p = plans.get(shape);
        if (p == null) plans.put(shape, p = plan(shape));
        if (bias != 0) {   // plans are shared by shape: the bias is set for each call
            biasPointer.set(JAVA_LONG, 0, bias);
            check("cublasLtMatmulDescSetAttribute(bias)", NativeLibrary.call(descSet, p.desc, DESC_BIAS_POINTER, biasPointer, 8L));
        }
        MemorySegment beta = accumulate ? one : zero;   // a local: invokeExact takes its arguments' static types
        int status;
        try {   // invokeExact: every linear goes through here
            status = (int) matmul.invokeExact(handle, p.desc, one, a, p.a, b, p.b, beta, c, p.c, c, p.c, p.algo,
                    workspace, WORKSPACE_BYTES, stream);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        check("cublasLtMatmul", status);
    }

    /** The largest power of two (at most 256) that divides the address: what the plan's algorithm may assume. */
    private static int alignment(long address) {
        return (int) Math.min(256, Long.lowestOneBit(address | 256));
    }

    private Plan plan(Shape s) {
        MemorySegment desc = created(descCreate, "cublasLtMatmulDescCreate", s.inBf16 ? COMPUTE_32F_FAST_16BF : COMPUTE_32F, R_32F);
        setInt(descSet, desc, DESC_TRANSA, s.transA);
        setInt(descSet, desc, DESC_TRANSB, s.transB);
        if (s.bias) setInt(descSet, desc, DESC_EPILOGUE, EPILOGUE_BIAS);
        // Stored shapes: A is m×k (k×m when transposed), B k×n (n×k), C m×n.
        MemorySegment la = layout(s.aType, s.transA == OP_N ? s.m : s.k, s.transA == OP_N ? s.k : s.m, s.lda);
        MemorySegment lb = layout(s.bType, s.transB == OP_N ? s.k : s.n, s.transB == OP_N ? s.n : s.k, s.ldb);
        MemorySegment lc = layout(s.cType, s.m, s.n, s.ldc);
        MemorySegment pref = created(prefCreate, "cublasLtMatmulPreferenceCreate");
        try (Arena a = Arena.ofConfined()) {
            check("cublasLtMatmulPreferenceSetAttribute",
                    NativeLibrary.call(prefSet, pref, PREF_MAX_WORKSPACE, a.allocateFrom(JAVA_LONG, WORKSPACE_BYTES), 8L));
            setInt(prefSet, pref, PREF_ALIGN_A, s.alignA);
            setInt(prefSet, pref, PREF_ALIGN_B, s.alignB);
            setInt(prefSet, pref, PREF_ALIGN_C, s.alignC);
            setInt(prefSet, pref, PREF_ALIGN_D, s.alignC);
            MemorySegment result = a.allocate(HEURISTIC_RESULT_BYTES, 8), count = a.allocate(JAVA_INT);
            check("cublasLtMatmulAlgoGetHeuristic", NativeLibrary.call(heuristic, handle, desc, la, lb, lc, lc, pref, 1, result, count));
            check("cublasLtMatmulPreferenceDestroy", NativeLibrary.call(prefDestroy, pref));
            if (count.get(JAVA_INT, 0) == 0) throw new StatetuneException("cuBLASLt has no algorithm for the GEMM " + s);
            MemorySegment algo = Arena.ofAuto().allocate(64, 8);   // freed with the plan
            algo.copyFrom(result.asSlice(0, 64));
            return new Plan(desc, la, lb, lc, algo);
        }
    }

    private MemorySegment layout(int type, long rows, long cols, long ld) {
        return created(layoutCreate, "cublasLtMatrixLayoutCreate", type, rows, cols, ld);
    }

    /** The object a cublasLt…Create function makes (its first argument is where it puts it). */
    private MemorySegment created(MethodHandle create, String what, Object... args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check(what, NativeLibrary.callWithOut(create, out, args));
            return out.get(ADDRESS, 0);
        }
    }

    private static void setInt(MethodHandle set, MemorySegment target, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            check("cublasLt set attribute " + attribute, NativeLibrary.call(set, target, attribute, a.allocateFrom(JAVA_INT, value), 4L));
        }
    }

    private void destroy(Plan p) {
        check("cublasLtMatmulDescDestroy", NativeLibrary.call(descDestroy, p.desc));
        for (MemorySegment l : new MemorySegment[] {p.a, p.b, p.c}) check("cublasLtMatrixLayoutDestroy", NativeLibrary.call(layoutDestroy, l));
    }

    private static void check(String what, int status) {
        if (status != 0) throw new StatetuneException("cuBLAS: " + what + " failed (status " + status + ")");
    }
}
