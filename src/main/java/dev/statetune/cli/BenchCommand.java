package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.backend.Backend;
import dev.statetune.backend.Devices;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.backend.cuda.CudaBackend;
import dev.statetune.backend.cpu.FmaPeak;
import dev.statetune.generate.Sampler;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.MambaLM;
import dev.statetune.model.ModelShapes;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;
import dev.statetune.train.AdamW;
import dev.statetune.train.TrainingStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
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
    @Option(names = "--size", defaultValue = "130m", description = "130m, 370m, 790m, 1.4b or 2.8b; Mamba-2: 130m, 370m, 780m, 1.3b, 2.7b (default: ${DEFAULT-VALUE})")
    String size;
    @Option(names = "--threads", description = "CPU threads (default: all cores)") Integer threads;
    @Option(names = "--device", description = "cpu (default) or cuda / cuda:N: generation speed on the GPU "
            + "(prefill, then prompt 128 + --decode new tokens, greedy, at batch 1 and 64)") String device;
    @Option(names = "--dtype", description = "fp32 (default) or bf16 (GPU: tensor-core GEMMs in bf16, fp32 masters for trained matrices)") String dtype;
    @Option(names = "--arch", defaultValue = "mamba1", description = "mamba1 or mamba2 (sizes 130m, 370m, 780m, 1.3b, 2.7b); "
            + "mamba2 measures training (--train) or prefill and generation (default: ${DEFAULT-VALUE})") String arch;
    @Option(names = "--prefill", defaultValue = "256", description = "prompt tokens for the prefill (default: ${DEFAULT-VALUE})") int prefill;
    @Option(names = "--decode", defaultValue = "32", description = "tokens for the decode measurement (default: ${DEFAULT-VALUE})") int decode;
    @Option(names = "--gemm-rows", defaultValue = "512", description = "token rows of the GEMM measurement (default: ${DEFAULT-VALUE})") int gemmRows;
    @Option(names = "--json", description = "print JSON instead of text") boolean json;
    @Option(names = "--train", description = "measure training steps instead: tokens/s of state-offset-h, lora and full")
    boolean train;
    @Option(names = "--batch", defaultValue = "4", description = "with --train: sequences per step (default: ${DEFAULT-VALUE})") int batch;
    @Option(names = "--seq", defaultValue = "128", description = "with --train: tokens per sequence (default: ${DEFAULT-VALUE})") int seq;
    @Option(names = "--method", split = ",", defaultValue = "state-offset-h,lora,full",
            description = "with --train: the methods to time (default: ${DEFAULT-VALUE})") List<String> trainMethods;
    @Option(names = "--steps", defaultValue = "3", description = "with --train: timed steps per method, after one warm-up (default: ${DEFAULT-VALUE})") int steps;
    @Option(names = "--eval", description = "measure evaluation instead: GLUE-style examples/s (teacher-forced, batches of --batch), "
            + "beam-5 and greedy generated tokens/s (--prompts prompts of --seq tokens, --decode new tokens each)") boolean eval;
    @Option(names = "--examples", defaultValue = "32", description = "with --eval: GLUE-style examples (default: ${DEFAULT-VALUE})") int examples;
    @Option(names = "--prompts", defaultValue = "4", description = "with --eval: prompts decoded as one batch (default: ${DEFAULT-VALUE})") int prompts;

    @Override
    public Integer call() throws Exception {
        if (train) return trainBench();
        if (eval) return evalBench();
        if ((device != null && !device.equals("cpu") || arch.equals("mamba2")) && !train) return gpuBench();
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
                int next = Sampler.argmax(LanguageModel.row(logits, prefill - 1));
                for (int i = 0; i < 16; i++) next = Sampler.argmax(LanguageModel.row(lm.step(new int[] {next}, state), 0)); // warm-up
                long t1 = System.nanoTime();
                for (int i = 0; i < decode; i++) next = Sampler.argmax(LanguageModel.row(lm.step(new int[] {next}, state), 0));
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

    /** Training tokens/s per method: one optimizer step = forward, backward, clipping and AdamW, as the Trainer runs it. */
    private int trainBench() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        RandomModel random = new RandomModel(arch, size);
        SplittableRandom rnd = new SplittableRandom(3);
        int[][] ids = new int[batch][], labels = new int[batch][];
        for (int b = 0; b < batch; b++) {
            ids[b] = rnd.ints(seq, 1, 50280).toArray();
            labels[b] = ids[b].clone();
        }
        for (Method m : trainMethods.stream().map(Method::parse).toList()) {
            // a fresh backend and model per method: nothing of the last adapter stays, and the memory held is this method's
            try (Backend backend = Devices.open(device != null ? device : "cpu", threads, dtype); LanguageModel lm = random.on(backend)) {
                if (r.isEmpty()) System.err.printf("bench --train: %s-%s shape, batch %d × %d tokens, %s%n", arch, size, batch, seq, backend.name());
                MethodOptions options = arch.equals("mamba2") ? MethodOptions.defaults().withLoraTargets(MethodOptions.MAMBA2_LORA_TARGETS)
                        : MethodOptions.defaults();   // the paper's recipe; Mamba-2's mixer has only in_proj and out_proj
                Adapter adapter = Adapter.create(lm, List.of(m), options);
                adapter.attach(lm);
                List<Parameter> params = adapter.parameters();
                params.forEach(p -> p.keepResident(backend));   // as the Trainer: the training state stays on the GPU
                List<TrainingStep.Micro> oneBatch = List.of(new TrainingStep.Micro(lm.tokens(ids, labels), 0));
                double best = Double.MAX_VALUE;
                try (TrainingStep trainingStep = new TrainingStep(lm, params, new AdamW(0), 1.0)) {
                    for (int step = 0; step <= steps; step++) {
                        long t0 = System.nanoTime();
                        trainingStep.run(oneBatch, 1e-4);
                        if (step > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                    }
                    r.put(m.cliName + "_recorded", trainingStep.replayed());
                }
                backend.dropResident();
                r.put(m.cliName + "_tokens_per_s", batch * seq / best);
                r.put(m.cliName + "_step_s", best);
                System.err.printf("  %-16s %8.1f tokens/s (%.3f s a step, %,d trainable)%n", m.cliName, batch * seq / best, best,
                        adapter.parameterCount());
                if (backend instanceof CudaBackend gpu) r.put(m.cliName + "_gpu_reserved_gib", gpu.reservedBytes() / 1073741824.0);
            }
        }
        if (r.containsKey("full_step_s") && r.containsKey("state-offset-h_step_s"))
            r.put("full_step_over_state_offset_h_step", (double) r.get("full_step_s") / (double) r.get("state-offset-h_step_s"));
        StringBuilder line = new StringBuilder("training tokens/s:");
        for (String m : trainMethods) line.append(String.format(" %s %.1f", m, r.get(m + "_tokens_per_s")));
        System.out.println(json ? new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r) : line);
        return 0;
    }

    private int gpuBench() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        try (Backend backend = Devices.open(device, threads, dtype); LanguageModel lm = new RandomModel(arch, size).on(backend)) {
            System.err.printf("bench: %s-%s shape, random float32 weights, %s%n", arch, size, backend.name());
            r.put("arch", arch);
            r.put("size", size);
            r.put("device", backend.name());
            r.putAll(GpuBench.run(lm, prefill, decode, new int[] {1, 64}));
        }
        System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r));
        return 0;
    }

    private int evalBench() throws Exception {
        MambaConfig cfg = ModelShapes.config(size);
        Map<String, Object> r;
        try (CpuBackend cpu = threads != null ? new CpuBackend(threads) : new CpuBackend();
             MambaLM lm = new MambaLM(Checkpoint.inMemory(Path.of("random-" + size), cfg, ModelShapes.randomWeights(cfg, 0)), cpu)) {
            System.err.printf("bench --eval: mamba-%s shape, prompts of %d tokens, %s%n", size, seq, cpu.name());
            r = EvalBench.run(lm, examples, seq, batch, prompts, decode);
        }
        System.out.println(json ? new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r)
                : String.format("GLUE-style teacher-forced %.2f examples/s (batch %d); generated tokens/s with %d prompts × %d new: beam 5 %.2f, greedy %.2f",
                r.get("glue_examples_per_s"), batch, prompts, decode, r.get("beam5_generated_tokens_per_s"), r.get("greedy_generated_tokens_per_s")));
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
