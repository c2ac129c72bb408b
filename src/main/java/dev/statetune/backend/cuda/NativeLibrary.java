package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One of NVIDIA's shared libraries opened through the FFM API: the first of several candidate
 * names that loads, looked up in $CUDA_HOME/lib64, /usr/local/cuda/lib64, then the loader path.
 * No JNI and no bundled natives: whatever CUDA the user has installed.
 */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    final String name;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, SymbolLookup lookup) {
        this.name = name;
        this.lookup = lookup;
    }

    /** @throws StatetuneException naming every place tried when none loads */
    static NativeLibrary open(String... candidates) {
        List<String> tried = new ArrayList<>();
        for (String candidate : candidates)
            for (Path dir : searchDirs()) {
                Path file = dir.resolve(candidate);
                if (!Files.exists(file)) continue;
                try {
                    return new NativeLibrary(candidate, SymbolLookup.libraryLookup(file, Arena.global()));
                } catch (IllegalArgumentException e) {
                    tried.add(file + " (" + e.getMessage() + ")");
                }
            }
        for (String candidate : candidates) {
            try {
                return new NativeLibrary(candidate, SymbolLookup.libraryLookup(candidate, Arena.global()));
            } catch (IllegalArgumentException e) {
                tried.add(candidate);
            }
        }
        throw new StatetuneException("cannot load " + String.join(" or ", candidates) + " (tried " + String.join(", ", tried) + ")");
    }

    private static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) dirs.add(Path.of(home, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        return dirs;
    }

    MethodHandle function(String symbol, FunctionDescriptor signature) {
        return LINKER.downcallHandle(lookup.find(symbol)
                .orElseThrow(() -> new StatetuneException(name + " has no symbol " + symbol)), signature);
    }

    /** As call, for a function that writes its result through `out`, its first argument; args are the ones after it. */
    static int callWithOut(MethodHandle h, MemorySegment out, Object... args) {
        Object[] all = new Object[args.length + 1];
        all[0] = out;
        System.arraycopy(args, 0, all, 1, args.length);
        return call(h, all);
    }

    /** Calls a downcall that returns a status code (CUresult, nvrtcResult, cublasStatus_t). */
    static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
