package dev.statetune.backend;

import dev.statetune.StatetuneException;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.backend.cuda.CudaBackend;

/**
 * Opens the backend a `--device` value names: cpu, cuda (GPU 0) or cuda:N; null picks cuda when a
 * GPU is usable. `--dtype` fp32 (default) or bf16 (tensor-core GEMMs on bf16 weights, GPU only).
 */
public final class Devices {
    private Devices() {}

    /** @param threads CPU threads (null: all cores), for the CPU backend */
    public static Backend open(String device, Integer threads) {
        return open(device, threads, null);
    }

    public static Backend open(String device, Integer threads, String dtype) {
        String d = device != null ? device : CudaBackend.available() ? "cuda" : "cpu";
        boolean bf16 = dtype != null && dtype.equals("bf16");
        if (dtype != null && !bf16 && !dtype.equals("fp32")) throw new StatetuneException("unknown dtype \"" + dtype + "\" (fp32 or bf16)");
        if (d.equals("cpu")) {
            if (bf16) throw new StatetuneException("--dtype bf16 runs on a GPU only (--device cuda)");
            return threads != null ? new CpuBackend(threads) : new CpuBackend();
        }
        if (d.equals("cuda")) return new CudaBackend(0, bf16);
        if (d.startsWith("cuda:")) {
            try {
                return new CudaBackend(Integer.parseInt(d.substring(5)), bf16);
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new StatetuneException("unknown device \"" + d + "\" (cpu, cuda or cuda:N)");
    }
}
