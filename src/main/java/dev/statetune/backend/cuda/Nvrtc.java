package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Compiles CUDA C sources to cubin for the GPU's architecture with NVRTC (libnvrtc.so.13, else .12)
 * and caches the result on disk, keyed by the hash of the source and options, the architecture and the driver
 * version ($STATETUNE_CACHE or ~/.cache/statetune/kernels), so only the first run pays for it.
 */
final class Nvrtc {
    private Nvrtc() {}

    static byte[] cubin(String source, String name, int major, int minor, int driverVersion) {
        String arch = "sm_" + major + minor;
        String[] options = {"--gpu-architecture=" + arch, "--std=c++17", "-default-device", "--use_fast_math"};
        Path file = cacheDir().resolve(name + "-" + sha256(source + String.join(" ", options)).substring(0, 16) + "-" + arch + "-" + driverVersion + ".cubin");
        try {
            if (Files.exists(file)) return Files.readAllBytes(file);
        } catch (IOException ignored) {
            // an unreadable cache entry is compiled again
        }
        byte[] cubin = compile(source, name, arch, options);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), name, ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            System.err.println("statetune: cannot cache compiled kernels in " + file.getParent() + " (" + e.getMessage() + ")");
        }
        return cubin;
    }

    private static Path cacheDir() {
        String configured = System.getenv("STATETUNE_CACHE");
        return configured != null ? Path.of(configured, "kernels") : Path.of(System.getProperty("user.home"), ".cache", "statetune", "kernels");
    }

    /** Options: fast math turns expf and divisions into their hardware approximations (about 2 ulp; the tests compare to the CPU at 1e-5). */
    private static byte[] compile(String source, String name, String arch, String[] options) {
        NativeLibrary lib = NativeLibrary.open("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so");
        MethodHandle create = lib.function("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle compile = lib.function("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        MethodHandle logSize = lib.function("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle log = lib.function("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle cubinSize = lib.function("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle getCubin = lib.function("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle destroy = lib.function("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            check("nvrtcCreateProgram", NativeLibrary.call(create, prog, a.allocateFrom(source), a.allocateFrom(name + ".cu"), 0, MemorySegment.NULL, MemorySegment.NULL));
            MemorySegment p = prog.get(ADDRESS, 0);
            MemorySegment opts = a.allocate(ADDRESS, options.length);
            for (int i = 0; i < options.length; i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options[i]));
            int result = NativeLibrary.call(compile, p, options.length, opts);
            if (result != 0) {
                MemorySegment size = a.allocate(JAVA_LONG);
                NativeLibrary.call(logSize, p, size);
                MemorySegment text = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                NativeLibrary.call(log, p, text);
                throw new StatetuneException("NVRTC could not compile " + name + ".cu for " + arch + ":\n" + text.getString(0));
            }
            MemorySegment size = a.allocate(JAVA_LONG);
            check("nvrtcGetCUBINSize", NativeLibrary.call(cubinSize, p, size));
            MemorySegment out = a.allocate(size.get(JAVA_LONG, 0));
            check("nvrtcGetCUBIN", NativeLibrary.call(getCubin, p, out));
            NativeLibrary.call(destroy, prog);
            return out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    private static void check(String what, int result) {
        if (result != 0) throw new StatetuneException("NVRTC: " + what + " failed (nvrtcResult " + result + ")");
    }


    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
