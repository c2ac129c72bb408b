package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.backend.cpu.FmaPeak;
import dev.statetune.generate.Sampler;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.MambaLM;
import dev.statetune.model.ModelShapes;
import dev.statetune.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * `statetune bench`: CPU speed of a published Mamba shape with random weights: the machine's FMA
 * peak, the GFLOP/s of in_proj and out_proj against it, prefill and batch-1 decode tokens/s.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark the CPU backend on a Mamba shape with random float32 weights.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--size", defaultValue = "130m", description = "130m, 370m, 790m, 1.4b or 2.8b (default: ${DEFAULT-VALUE})")
    String size;
    @Option(names = "--threads", description = "CPU threads (default: all cores)") Integer threads;
    @Option(names = "--prefill", defaultValue = "256", description = "prompt tokens for the prefill (default: ${DEFAULT-VALUE})") int prefill;
    @Option(names = "--decode", defaultValue = "32", description = "tokens for the decode measurement (default: ${DEFAULT-VALUE})") int decode;
    @Option(names = "--gemm-rows", defaultValue = "512", description = "token rows of the GEMM measurement (default: ${DEFAULT-VALUE})") int gemmRows;
    @Option(names = "--json", description = "print JSON instead of text") boolean json;

    @Override
    public Integer call() throws Exception {
        MambaConfig cfg = ModelShapes.config(size);
        Map<String, Object> r = new LinkedHashMap<>();
        try (CpuBackend cpu = threads != null ? new CpuBackend(threads) : new CpuBackend()) {
            System.err.printf("bench: mamba-%s shape (%.0fM parameters), random float32 weights, %s%n",
                    size, cfg.parameterCount() / 1e6, cpu.name());
            r.put("size", size);
            r.put("threads", cpu.threads());
            double peak = FmaPeak.gflops(cpu, 30_000_000L);
            r.put("fma_peak_gflops", peak);
            int d = cfg.modelDim(), di = cfg.innerDim();
            double inProj = gemm(cpu, gemmRows, d, 2 * di), outProj = gemm(cpu, gemmRows, di, d);
            r.put("in_proj_gflops", inProj);
            r.put("out_proj_gflops", outProj);
            try (MambaLM lm = new MambaLM(Checkpoint.inMemory(Path.of("random-" + size), cfg, ModelShapes.randomWeights(cfg, 0)), cpu)) {
                SplittableRandom rnd = new SplittableRandom(1);
                int[] prompt = rnd.ints(prefill, 1, cfg.vocabSize()).toArray();
                double best = Double.MAX_VALUE;
                DecodeState state = null;
                Tensor logits = null;
                for (int rep = 0; rep < 4; rep++) {  // the first is the JIT's warm-up; best of the other three
                    long t0 = System.nanoTime();
                    state = lm.newState(1);
                    logits = lm.forward(new int[][] {prompt}, state);
                    if (rep > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                }
                r.put("prefill_tokens_per_s", prefill / best);
                int next = Sampler.argmax(MambaLM.row(logits, prefill - 1));
                for (int i = 0; i < 16; i++) next = Sampler.argmax(MambaLM.row(lm.step(new int[] {next}, state), 0)); // warm-up
                long t1 = System.nanoTime();
                for (int i = 0; i < decode; i++) next = Sampler.argmax(MambaLM.row(lm.step(new int[] {next}, state), 0));
                r.put("decode_tokens_per_s", decode / ((System.nanoTime() - t1) / 1e9));
            }
        }
        if (json) {
            System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r));
        } else {
            double peak = (double) r.get("fma_peak_gflops");
            System.out.printf("FMA peak (measured)            %8.1f GFLOP/s%n", peak);
            System.out.printf("in_proj GEMM  %4d×%d·%d   %8.1f GFLOP/s (%.0f%% of peak)%n", gemmRows, cfg.modelDim(), 2 * cfg.innerDim(),
                    r.get("in_proj_gflops"), 100 * (double) r.get("in_proj_gflops") / peak);
            System.out.printf("out_proj GEMM %4d×%d·%d    %8.1f GFLOP/s (%.0f%% of peak)%n", gemmRows, cfg.innerDim(), cfg.modelDim(),
                    r.get("out_proj_gflops"), 100 * (double) r.get("out_proj_gflops") / peak);
            System.out.printf("prefill, %d tokens, batch 1   %8.1f tokens/s%n", prefill, r.get("prefill_tokens_per_s"));
            System.out.printf("decode, batch 1                %8.1f tokens/s%n", r.get("decode_tokens_per_s"));
        }
        return 0;
    }

    /** GFLOP/s of out (rows, n) = x (rows, k) · wᵀ, best of 5 after a warm-up. */
    private static double gemm(CpuBackend cpu, int rows, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(2);
        float[] xs = new float[rows * k], ws = new float[n * k];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) rnd.nextDouble(-1, 1);
        for (int i = 0; i < ws.length; i++) ws[i] = (float) rnd.nextDouble(-1, 1);
        Tensor x = Tensor.of(xs, rows, k), w = Tensor.of(ws, n, k), out = Tensor.zeros(rows, n);
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            cpu.linear(x, 0, w, null, out);
            if (rep >= 3) best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return 2.0 * rows * k * n / best / 1e9;
    }
}
