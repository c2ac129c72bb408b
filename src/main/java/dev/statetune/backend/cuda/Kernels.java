package dev.statetune.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The kernels of resources/dev/statetune/cuda/ (kernels.cu, then mamba2.cu: one NVRTC unit, their
 * concatenation), compiled for this GPU (cached on disk by the concatenation's hash) and loaded as
 * one module; {@link #launch} packs Java arguments into kernel parameters.
 */
final class Kernels {
    private static final List<String> SOURCES = List.of("/dev/statetune/cuda/kernels.cu", "/dev/statetune/cuda/mamba2.cu");

    private final Driver driver;
    private final MemorySegment module, stream;
    private final Map<String, MemorySegment> functions = new HashMap<>();
    /** Shared memory a block gets without asking, and the most each function was allowed since. */
    private static final int DEFAULT_SHARED = 48 << 10;
    private final Map<String, Integer> sharedAllowed = new HashMap<>();
    /** Kernel arguments, reused by every launch (launches are serialised on this object). */
    private static final int MAX_ARGS = 40;
    private final MemorySegment values = Arena.global().allocate(8L * MAX_ARGS, 8), pointers = Arena.global().allocate(ADDRESS, MAX_ARGS);

    Kernels(Driver driver, int device, MemorySegment stream) {
        this.driver = driver;
        this.stream = stream;
        byte[] cubin = Nvrtc.cubin(source(), "kernels", driver.attribute(device, Driver.ATTRIBUTE_CC_MAJOR),
                driver.attribute(device, Driver.ATTRIBUTE_CC_MINOR), driver.driverVersion());
        MemorySegment image = Arena.global().allocate(cubin.length, 16);
        image.copyFrom(MemorySegment.ofArray(cubin));
        module = driver.loadModule(image);
        for (int i = 0; i < MAX_ARGS; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
    }

    private static String source() {
        StringBuilder all = new StringBuilder();
        for (String source : SOURCES)
            try (InputStream in = Kernels.class.getResourceAsStream(source)) {
                if (in == null) throw new IllegalStateException("missing resource " + source);
                all.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        return all.toString();
    }

    /**
     * Launches kernel `name` on the stream with grid (gridX, gridY) of `block` threads. Arguments:
     * Long for pointers and 64-bit integers, Integer, Float, Double (a null pointer is 0L).
     */
    void launch(String name, int gridX, int gridY, int block, Object... args) {
        launchShared(name, gridX, gridY, block, 0, args);
    }

    /** As {@link #launch}, with sharedBytes of dynamic shared memory per block. */
    void launchShared(String name, int gridX, int gridY, int block, int sharedBytes, Object... args) {
        launch3d(name, gridX, gridY, 1, block, sharedBytes, args);
    }

    /** As {@link #launchShared}, on a three-dimensional grid. */
    synchronized void launch3d(String name, int gridX, int gridY, int gridZ, int block, int sharedBytes, Object... args) {
        MemorySegment f = functions.computeIfAbsent(name, n -> driver.function(module, n));
        if (sharedBytes > sharedAllowed.getOrDefault(name, DEFAULT_SHARED)) {   // e.g. the Mamba-1 scan backward at state 64 and above
            driver.allowSharedMemory(f, sharedBytes);
            sharedAllowed.put(name, sharedBytes);
        }
        if (args.length > MAX_ARGS) throw new IllegalArgumentException(name + ": more than " + MAX_ARGS + " kernel arguments");
        for (int i = 0; i < args.length; i++) {
            long at = 8L * i;   // each argument in its own 8-byte slot; the pointer array points at the slots
            switch (args[i]) {
                case Long v -> values.set(JAVA_LONG, at, v);
                case Integer v -> values.set(JAVA_INT, at, v);
                case Float v -> values.set(JAVA_FLOAT, at, v);
                case Double v -> values.set(JAVA_DOUBLE, at, v);
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            }
        }
        driver.launch(f, gridX, gridY, gridZ, block, sharedBytes, stream, pointers);   // the driver copies the arguments at the launch
    }
}
