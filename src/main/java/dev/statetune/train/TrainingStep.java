package dev.statetune.train;

import dev.statetune.backend.Backend;
import dev.statetune.backend.LossResult;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.LanguageModel.TokenBatch;
import dev.statetune.peft.Parameter;
import dev.statetune.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * One optimizer step on the backend: zero the gradients, forward and backward over each micro-batch,
 * average, clip, update. The loss and the gradient norm stay where the backend computes them until
 * the step is done, so that nothing inside a step waits for the host; a step ends with one
 * synchronize, after which run returns them.
 *
 * Where the backend records (CUDA graphs, Backend.captureStep), a step of one micro-batch of the
 * shape the previous step had is recorded, and replayed from then on: one launch a step. A new shape
 * runs op by op (so that the allocator holds its blocks) and drops the recording, and its memory,
 * for the old one; a step that cannot be recorded runs op by op for the rest of the run. The results
 * are the same either way.
 */
public final class TrainingStep implements AutoCloseable {
    /** A micro-batch, and the seed its dropout draws come from. */
    public record Micro(TokenBatch tokens, long dropoutSeed) {}

    /**
     * What a step did: the mean of its micro-batches' token-mean losses, the loss sums over all of them,
     * and the gradient norm before clipping.
     */
    public record Result(double loss, LossResult sums, double gradNorm) {}

    /** Where queue puts the squared gradient norm, after the loss sums. */
    private static final int NORM = LossResult.SUMS;

    private final LanguageModel lm;
    private final Backend backend;
    private final List<Parameter> params;
    private final Optimizer optimizer;
    private final double maxGradNorm;

    private Backend.StepGraph graph;
    private TokenBatch recorded;        // the host arrays the recording reads, refilled before each replay
    private int[] lastShape = new int[0];
    private boolean unrecordable;

    /** maxGradNorm ≤ 0: no clipping (the norm is still computed). */
    public TrainingStep(LanguageModel lm, List<Parameter> params, Optimizer optimizer, double maxGradNorm) {
        this.lm = lm;
        this.backend = lm.backend();
        this.params = params;
        this.optimizer = optimizer;
        this.maxGradNorm = maxGradNorm;
    }

    /** One step over these micro-batches with learning rate lr; waits for it. */
    public Result run(List<Micro> micro, double lr) {
        optimizer.prepare(lr);
        if (micro.size() == 1 && !unrecordable) return single(micro.getFirst());
        try (Backend.Scope scope = backend.openScope()) {
            Tensor sums = queue(micro);
            backend.synchronize();
            return read(sums, micro.size());
        }
    }

    /** Whether the last step ran as a replay of a recording. */
    public boolean replayed() {
        return graph != null;
    }

    /** A step of one micro-batch: replayed when the recording fits its shape, recorded when its shape repeats, else op by op. */
    private Result single(Micro m) {
        TokenBatch b = m.tokens();
        int[] shape = {b.batch(), b.len(), b.ids().length, b.targets().length};
        boolean repeated = Arrays.equals(shape, lastShape);
        lastShape = shape;
        if (graph != null && repeated) {
            System.arraycopy(b.ids(), 0, recorded.ids(), 0, b.ids().length);
            System.arraycopy(b.targets(), 0, recorded.targets(), 0, b.targets().length);
            lm.setDropoutSeed(m.dropoutSeed());   // the recording reads the seed's host array at each replay
            return read(graph.replay(recorded.ids()), 1);
        }
        close();
        if (repeated) {
            recorded = new TokenBatch(b.batch(), b.len(), b.ids().clone(), b.targets().clone());
            graph = backend.captureStep(() -> queue(List.of(new Micro(recorded, m.dropoutSeed()))));
            if (graph != null) return read(graph.replay(recorded.ids()), 1);
            unrecordable = true;
        }
        try (Backend.Scope scope = backend.openScope()) {
            Tensor sums = queue(List.of(m));
            backend.synchronize();
            return read(sums, 1);
        }
    }

    /** The step's work on the backend; its sums (LossResult.SUMS, then the squared gradient norm) are read once it is done. */
    private Tensor queue(List<Micro> micro) {
        Tensor sums = backend.allocateSums(NORM + 1);
        params.forEach(p -> p.zeroGrad(backend));
        for (Micro m : micro) {
            lm.setDropoutSeed(m.dropoutSeed());
            lm.addLoss(m.tokens(), true, sums.rows(0, NORM));
        }
        if (micro.size() > 1)
            for (Parameter p : params) backend.scaleInPlace(p.gradTensor(), (float) (1.0 / micro.size()));
        GradClip.queue(backend, params, maxGradNorm, sums.rows(NORM, NORM + 1));
        optimizer.apply(backend, params);
        return sums;
    }

    private static Result read(Tensor sums, int micro) {
        return new Result(sums.getDouble(3) / micro, LossResult.of(sums), Math.sqrt(sums.getDouble(NORM)));
    }

    /** Frees the recording. */
    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
        recorded = null;
    }
}
