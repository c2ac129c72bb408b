package dev.statetune.backend;

import dev.statetune.StatetuneException;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.backend.cuda.CudaBackend;

/** Opens the backend a `--device` value names: cpu, cuda (GPU 0) or cuda:N; null picks cuda when a GPU is usable. */
public final class Devices {
    private Devices() {}

    /** @param threads CPU threads (null: all cores), for the CPU backend */
    public static Backend open(String device, Integer threads) {
        String d = device != null ? device : CudaBackend.available() ? "cuda" : "cpu";
        if (d.equals("cpu")) return threads != null ? new CpuBackend(threads) : new CpuBackend();
        if (d.equals("cuda")) return new CudaBackend(0);
        if (d.startsWith("cuda:")) {
            try {
                return new CudaBackend(Integer.parseInt(d.substring(5)));
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new StatetuneException("unknown device \"" + d + "\" (cpu, cuda or cuda:N)");
    }
}
