package dev.statetune.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import dev.statetune.StatetuneException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS (libcublas.so.13, else .12) for the GEMMs: one handle on the backend's stream,
 * cublasGemmEx in column-major terms. FP32 compute without TF32, so results match the CPU's fp32.
 */
final class Cublas {
    static final int OP_N = 0, OP_T = 1;
    static final int R_32F = 0, R_16BF = 14;
    private static final int COMPUTE_32F = 68, GEMM_DEFAULT = -1;

    private final MethodHandle gemmEx;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one, zero;

    /** cuBLAS's workspace, given once so that no call allocates one. */
    static final long WORKSPACE_BYTES = 32L << 20;

    Cublas(MemorySegment stream, long workspace) {
        NativeLibrary lib = NativeLibrary.open("libcublas.so.13", "libcublas.so.12", "libcublas.so");
        MethodHandle create = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = lib.function("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        gemmEx = lib.function("cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        MemorySegment h = arena.allocate(ADDRESS);
        check("cublasCreate", NativeLibrary.call(create, h));
        handle = h.get(ADDRESS, 0);
        check("cublasSetStream", NativeLibrary.call(setStream, handle, stream));
        MethodHandle setWorkspace = lib.function("cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        check("cublasSetWorkspace", NativeLibrary.call(setWorkspace, handle, workspace, WORKSPACE_BYTES));
        one = arena.allocateFrom(JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(JAVA_FLOAT, 0f);
    }

    /** C (m×n, ldc) = op(A) · op(B) (+ C when accumulate), column-major, fp32 accumulation. */
    void gemm(int transA, int transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
              boolean accumulate, long c, int ldc) {
        int status;
        MemorySegment beta = accumulate ? one : zero;
        try {   // invokeExact: every linear goes through here
            status = (int) gemmEx.invokeExact(handle, transA, transB, m, n, k, one, a, aType, lda, b, bType, ldb,
                    beta, c, R_32F, ldc, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        check("cublasGemmEx", status);
    }

    private static void check(String what, int status) {
        if (status != 0) throw new StatetuneException("cuBLAS: " + what + " failed (status " + status + ")");
    }

}
