package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API (libcuda.so.1) calls statetune makes: device and primary context, a stream,
 * managed memory, modules and kernel launches. Every call checks its CUresult and fails with the
 * driver's error name.
 */
final class Driver {
    static final int ATTRIBUTE_CC_MAJOR = 75, ATTRIBUTE_CC_MINOR = 76;
    private static final int MEM_ATTACH_GLOBAL = 1, FUNC_MAX_DYNAMIC_SHARED = 8;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetAttribute, cuDeviceGetName,
            cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuStreamCreate, cuStreamSynchronize, cuMemAllocManaged, cuMemFree,
            cuMemcpyAsync, cuMemsetD8Async, cuModuleLoadData, cuModuleGetFunction, cuLaunchKernel, cuGetErrorName, cuMemGetInfo,
            cuMemAdvise, cuMemPrefetchAsync, cuFuncSetAttribute, cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate,
            cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy, cuMemAllocHost, cuMemFreeHost;
    private static final int CAPTURE_MODE_RELAXED = 2;
    /** CUmemLocation, passed by value: {type, id}. */
    private static final StructLayout LOCATION = MemoryLayout.structLayout(JAVA_INT.withName("type"), JAVA_INT.withName("id"));
    private static final int LOCATION_DEVICE = 1, ADVISE_PREFERRED_LOCATION = 3;

    private Driver(NativeLibrary lib) {
        cuInit = lib.function("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuDriverGetVersion = lib.function("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGetCount = lib.function("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGet = lib.function("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetAttribute = lib.function("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetName = lib.function("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDevicePrimaryCtxRetain = lib.function("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuCtxSetCurrent = lib.function("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuStreamCreate = lib.function("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamSynchronize = lib.function("cuStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuMemAllocManaged = lib.function("cuMemAllocManaged", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        cuMemFree = lib.function("cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        cuMemcpyAsync = lib.function("cuMemcpyAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemsetD8Async = lib.function("cuMemsetD8Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS));
        cuModuleLoadData = lib.function("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleGetFunction = lib.function("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuFuncSetAttribute = lib.function("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuLaunchKernel = lib.function("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuGetErrorName = lib.function("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuMemGetInfo = lib.function("cuMemGetInfo_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuMemAdvise = lib.function("cuMemAdvise_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, LOCATION));
        cuMemPrefetchAsync = lib.function("cuMemPrefetchAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, LOCATION, JAVA_INT, ADDRESS));
        cuStreamBeginCapture = lib.function("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamEndCapture = lib.function("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphInstantiate = lib.function("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        cuGraphLaunch = lib.function("cuGraphLaunch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphExecDestroy = lib.function("cuGraphExecDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuGraphDestroy = lib.function("cuGraphDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuMemAllocHost = lib.function("cuMemAllocHost_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cuMemFreeHost = lib.function("cuMemFreeHost", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    private static Driver instance;

    /** The driver, initialised once; fails with one line when there is no driver. */
    static synchronized Driver get() {
        if (instance == null) {
            Driver d = new Driver(NativeLibrary.open("libcuda.so.1", "libcuda.so"));
            d.check("cuInit", NativeLibrary.call(d.cuInit, 0));
            instance = d;
        }
        return instance;
    }

    /** Whether a driver and at least one GPU are there (never throws). */
    static boolean available() {
        try {
            return get().deviceCount() > 0;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    int deviceCount() {
        return outInt("cuDeviceGetCount", cuDeviceGetCount);
    }

    int driverVersion() {
        return outInt("cuDriverGetVersion", cuDriverGetVersion);
    }

    int device(int ordinal) {
        return outInt("cuDeviceGet", cuDeviceGet, ordinal);
    }

    int attribute(int device, int attribute) {
        return outInt("cuDeviceGetAttribute", cuDeviceGetAttribute, attribute, device);
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(256);
            check("cuDeviceGetName", NativeLibrary.call(cuDeviceGetName, name, 256, device));
            return name.getString(0);
        }
    }

    MemorySegment primaryContext(int device) {
        return outAddress("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain, device);
    }

    void setCurrent(MemorySegment context) {
        check("cuCtxSetCurrent", NativeLibrary.call(cuCtxSetCurrent, context));
    }

    MemorySegment createStream() {
        return outAddress("cuStreamCreate", cuStreamCreate, 1);   // CU_STREAM_NON_BLOCKING
    }

    void synchronize(MemorySegment stream) {
        check("cuStreamSynchronize", NativeLibrary.call(cuStreamSynchronize, stream));
    }

    /** Managed memory: one address for the host and the GPU; 0 when the GPU is out of memory. */
    long allocManaged(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int r = NativeLibrary.call(cuMemAllocManaged, p, bytes, MEM_ATTACH_GLOBAL);
            if (r == 2) return 0;   // CUDA_ERROR_OUT_OF_MEMORY
            check("cuMemAllocManaged", r);
            return p.get(JAVA_LONG, 0);
        }
    }

    /**
     * Managed memory that lives on the GPU: preferred there (the host reads it remotely or briefly
     * migrates it) and moved there now on the stream, so kernels never fault its pages in one by one
     * (stream null: not moved now, as while a stream is being captured).
     */
    void keepOnDevice(long pointer, long bytes, int deviceOrdinal, MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment location = a.allocate(LOCATION);
            location.set(JAVA_INT, 0, LOCATION_DEVICE);
            location.set(JAVA_INT, 4, deviceOrdinal);
            check("cuMemAdvise", NativeLibrary.call(cuMemAdvise, pointer, bytes, ADVISE_PREFERRED_LOCATION, location));
            if (stream != null) check("cuMemPrefetchAsync", NativeLibrary.call(cuMemPrefetchAsync, pointer, bytes, location, 0, stream));
        }
    }

    /** Records the work issued on the stream, from now until endCapture, instead of running it. */
    void beginCapture(MemorySegment stream) {
        check("cuStreamBeginCapture", NativeLibrary.call(cuStreamBeginCapture, stream, CAPTURE_MODE_RELAXED));
    }

    /** The graph of the work recorded since beginCapture, or null when the capture was invalidated (the driver's error is dropped). */
    MemorySegment endCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment g = a.allocate(ADDRESS);
            int r = NativeLibrary.call(cuStreamEndCapture, stream, g);
            return r == 0 ? g.get(ADDRESS, 0) : null;
        }
    }

    /** An executable instance of the graph. */
    MemorySegment instantiate(MemorySegment graph) {
        return outAddress("cuGraphInstantiate", cuGraphInstantiate, graph, 0L);
    }

    void launchGraph(MemorySegment exec, MemorySegment stream) {
        check("cuGraphLaunch", NativeLibrary.call(cuGraphLaunch, exec, stream));
    }

    void destroyGraph(MemorySegment exec, MemorySegment graph) {
        if (exec != null) check("cuGraphExecDestroy", NativeLibrary.call(cuGraphExecDestroy, exec));
        check("cuGraphDestroy", NativeLibrary.call(cuGraphDestroy, graph));
    }

    /** Page-locked host memory, which a graph's copies can read at every replay. */
    MemorySegment allocHost(long bytes) {
        return outAddress("cuMemAllocHost", cuMemAllocHost, bytes).reinterpret(bytes);
    }

    void freeHost(MemorySegment pinned) {
        check("cuMemFreeHost", NativeLibrary.call(cuMemFreeHost, pinned));
    }

    void free(long pointer) {
        check("cuMemFree", NativeLibrary.call(cuMemFree, pointer));
    }

    void copyAsync(long dst, long src, long bytes, MemorySegment stream) {
        check("cuMemcpyAsync", NativeLibrary.call(cuMemcpyAsync, dst, src, bytes, stream));
    }

    void zeroAsync(long dst, long bytes, MemorySegment stream) {
        check("cuMemsetD8Async", NativeLibrary.call(cuMemsetD8Async, dst, (byte) 0, bytes, stream));
    }

    /** {free, total} bytes of the current context's GPU. */
    long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo", NativeLibrary.call(cuMemGetInfo, free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    MemorySegment loadModule(MemorySegment image) {
        return outAddress("cuModuleLoadData", cuModuleLoadData, image);
    }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(ADDRESS);
            check("cuModuleGetFunction(" + name + ")", NativeLibrary.call(cuModuleGetFunction, f, module, a.allocateFrom(name)));
            return f.get(ADDRESS, 0);
        }
    }

    /** Lets the function's blocks take up to `bytes` of dynamic shared memory (above the default 48 KB). */
    void allowSharedMemory(MemorySegment function, int bytes) {
        check("cuFuncSetAttribute(max dynamic shared memory)", NativeLibrary.call(cuFuncSetAttribute, function, FUNC_MAX_DYNAMIC_SHARED, bytes));
    }

    void launch(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int sharedBytes, MemorySegment stream, MemorySegment params) {
        int result;
        try {   // invokeExact: a launch is the hot path, so no boxing
            result = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        check("cuLaunchKernel", result);
    }

    /** The int a driver function writes through its first argument; args are the ones after it. */
    private int outInt(String what, MethodHandle function, Object... args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check(what, NativeLibrary.callWithOut(function, out, args));
            return out.get(JAVA_INT, 0);
        }
    }

    /** The pointer or handle a driver function writes through its first argument; args are the ones after it. */
    private MemorySegment outAddress(String what, MethodHandle function, Object... args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check(what, NativeLibrary.callWithOut(function, out, args));
            return out.get(ADDRESS, 0);
        }
    }

    void check(String what, int result) {
        if (result == 0) return;
        String name;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            name = NativeLibrary.call(cuGetErrorName, result, p) == 0 ? p.get(ADDRESS, 0).reinterpret(128).getString(0) : "CUresult " + result;
        }
        throw new StatetuneException("CUDA: " + what + " failed: " + name);
    }

}
