package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.Tensor;

/**
 * A decode loop's steps, recorded and replayed where the backend can (CUDA graphs,
 * Backend.captureStep): a step of a new shape (batch, state) first runs op by op, so that the
 * allocator holds its blocks, is recorded the next time and replayed from then on. A step that
 * cannot be recorded runs op by op for the rest of the loop. Same results either way.
 */
final class DecodeSteps implements AutoCloseable {
    private final LanguageModel model;
    private DecodeState state;        // what the recorded graph updates in place
    private int batch = -1;
    private boolean ranOnce, unrecordable;
    private Backend.StepGraph graph;

    DecodeSteps(LanguageModel model) {
        this.model = model;
    }

    /** Logits (ids.length, vocab) after feeding one token per row of state, as model.step. */
    Tensor step(int[] ids, DecodeState state) {
        if (state != this.state || ids.length != batch) {   // a new shape: the recording does not fit it
            close();
            this.state = state;
            batch = ids.length;
            ranOnce = false;
        }
        if (graph != null) return graph.replay(ids);
        if (unrecordable || !ranOnce) {
            ranOnce = true;
            return model.step(ids, state);
        }
        graph = model.backend().captureStep(() -> model.step(ids, state));
        if (graph == null) {
            unrecordable = true;
            return model.step(ids, state);
        }
        return graph.replay(ids);
    }

    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
    }
}
