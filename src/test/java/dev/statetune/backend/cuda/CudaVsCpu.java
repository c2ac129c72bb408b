package dev.statetune.backend.cuda;

import dev.statetune.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The CPU and CUDA backends the CUDA tests compare, opened for each test class; the class is skipped, saying so, without a GPU. */
abstract class CudaVsCpu {
    static CpuBackend cpu;
    static CudaBackend cuda;

    @BeforeAll
    static void openBackends() {
        assumeTrue(CudaBackend.available(), "skipped: no CUDA driver or GPU on this machine");
        cpu = new CpuBackend(2);
        cuda = new CudaBackend(0);
    }

    @AfterAll
    static void closeBackends() {
        if (cuda != null) cuda.close();
        if (cpu != null) cpu.close();
        cuda = null;
        cpu = null;
    }
}
