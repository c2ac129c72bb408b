package dev.statetune.backend.cuda;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A decode step recorded as a CUDA graph (CudaBackend.captureStep) and run again by replay: one
 * launch instead of a few hundred. The graph keeps the allocator's blocks the step took; the host
 * data the step read (its token ids, an adapter's parameters) is copied into page-locked buffers,
 * which the graph's copies read, before every replay.
 */
final class StepRecording implements Backend.StepGraph {
    /** What a recorded step cannot hold: work whose result the host needs before the step ends, or a second set of ids. */
    static final class NotRecordable extends RuntimeException {
        NotRecordable(String why) {
            super(why, null, false, false);
        }
    }

    /** A host tensor the step reads, and the page-locked copy of it the graph reads. */
    private record Input(MemorySegment host, MemorySegment pinned) {}

    private final Driver driver;
    private final DeviceMemory memory;
    private final MemorySegment stream;
    private final Runnable synchronize;
    private final List<Input> inputs = new ArrayList<>();
    private MemorySegment ids;   // page-locked token ids of the step's embedding
    private MemorySegment graph, exec;
    private List<Long> blocks = List.of();
    private Tensor result;

    StepRecording(Driver driver, DeviceMemory memory, MemorySegment stream, Runnable synchronize) {
        this.driver = driver;
        this.memory = memory;
        this.stream = stream;
        this.synchronize = synchronize;
    }

    /** Page-locked memory holding the host bytes, now and again before every replay, for a recorded copy to read. */
    MemorySegment input(MemorySegment host) {
        MemorySegment pinned = driver.allocHost(host.byteSize());
        pinned.copyFrom(host);
        inputs.add(new Input(host, pinned));
        return pinned;
    }

    /** Page-locked memory holding the step's token ids, which every replay replaces. */
    MemorySegment ids(int[] values) {
        if (ids != null) throw new NotRecordable("a step that embeds twice");
        ids = driver.allocHost(4L * values.length);
        ids.copyFrom(MemorySegment.ofArray(values));
        return ids;
    }

    /** The recording is complete: its graph, the step's result and the blocks the graph writes. */
    void finish(MemorySegment graph, Tensor result, List<Long> blocks) {
        this.graph = graph;
        this.blocks = blocks;
        this.result = result;
        exec = driver.instantiate(graph);
    }

    /** The recording failed: frees what it took (graph: what the driver made of it, or null). */
    void abandon(MemorySegment graph, List<Long> blocks) {
        this.graph = graph;
        this.blocks = blocks;
        close();
    }

    @Override
    public Tensor replay(int[] tokenIds) {
        if (ids == null || 4L * tokenIds.length != ids.byteSize())
            throw new IllegalArgumentException(tokenIds.length + " token ids for a step recorded with " + (ids == null ? 0 : ids.byteSize() / 4));
        ids.copyFrom(MemorySegment.ofArray(tokenIds));
        for (Input in : inputs) in.pinned.copyFrom(in.host);
        driver.launchGraph(exec, stream);
        synchronize.run();   // the result is ready for the host, as after a step that ran op by op
        return result;
    }

    @Override
    public void close() {
        if (graph != null) driver.destroyGraph(exec, graph);
        graph = exec = null;
        memory.releaseAll(blocks);
        blocks = List.of();
        for (Input in : inputs) driver.freeHost(in.pinned);
        inputs.clear();
        if (ids != null) driver.freeHost(ids);
        ids = null;
    }
}
