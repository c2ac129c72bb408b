package dev.statetune.backend.cuda;

import dev.statetune.StatetuneException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A caching allocator of CUDA managed memory. A block is handed out as a memory segment (so host
 * code can read results after a synchronize) whose automatic arena gives the block back to the
 * pool when the segment, and every slice of it, is unreachable. Blocks are never freed while the
 * backend lives, only reused; sizes are rounded up so that similar requests share blocks. Work is
 * issued on one stream, so a block reused by later work is only touched after earlier work on it.
 */
final class DeviceMemory implements AutoCloseable {
    private static final long ALIGN = 512, LARGE = 1 << 20;
    private final long collectEvery;   // new bytes reserved between two garbage collections, which give back dead tensors' blocks

    private final Driver driver;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();     // block size → free blocks
    private final TreeMap<Long, Long> blocks = new TreeMap<>();           // address → size of every block
    private long reserved, reservedAtCollection;

    private final int deviceOrdinal;
    private final MemorySegment stream;

    DeviceMemory(Driver driver, int deviceOrdinal, MemorySegment stream) {
        this.driver = driver;
        this.deviceOrdinal = deviceOrdinal;
        this.stream = stream;
        this.collectEvery = Math.max(2L << 30, driver.memoryInfo()[1] / 8);
    }

    /**
     * A block for one op's temporary data, handed back with {@link #release} as soon as the op's
     * work is queued: the stream runs whatever reuses it afterwards.
     */
    MemorySegment scratch(long bytes) {
        return MemorySegment.ofAddress(take(roundUp(Math.max(bytes, 1)))).reinterpret(bytes);
    }

    synchronized void release(MemorySegment scratch) {
        if (captured != null) {   // free for the recorded step's later ops, which the graph runs in order
            captureFree.computeIfAbsent(blocks.get(scratch.address()), k -> new ArrayDeque<>()).push(scratch.address());
            return;
        }
        giveBack(scratch.address(), blocks.get(scratch.address()));
    }

    /** While a step is recorded into a graph: every block it took, and those it released (which it may take again). */
    private Set<Long> captured;
    private Map<Long, ArrayDeque<Long>> captureFree;

    /** From now on blocks taken and released belong to a recorded step (see endCapture). */
    synchronized void beginCapture() {
        captured = new LinkedHashSet<>();
        captureFree = new HashMap<>();
    }

    /**
     * Ends the recording: the blocks the step took, which its graph writes at every replay and so
     * keeps until releaseAll; blocks it released but did not take go back to the pool.
     */
    synchronized List<Long> endCapture() {
        List<Long> kept = List.copyOf(captured);
        for (ArrayDeque<Long> q : captureFree.values())
            for (long a : q) if (!captured.contains(a)) giveBack(a, blocks.get(a));
        captured = null;
        captureFree = null;
        return kept;
    }

    /** Gives back the blocks of a destroyed graph. */
    synchronized void releaseAll(List<Long> kept) {
        for (long a : kept) giveBack(a, blocks.get(a));
    }

    /** A block of at least `bytes` bytes (not zeroed). */
    MemorySegment allocate(long bytes) {
        long size = roundUp(Math.max(bytes, 1));
        long address = take(size);
        if (address == 0) {
            System.gc();   // unreachable segments give their blocks back through their arenas' cleaners
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            address = take(size);
        }
        if (address == 0) throw new StatetuneException(String.format("out of GPU memory: %,d bytes requested, %,d reserved", size, reserved));
        long block = address;
        return MemorySegment.ofAddress(address).reinterpret(bytes, Arena.ofAuto(), s -> giveBack(block, size));
    }

    /** Whether the address lies in one of this allocator's blocks (else it is host memory). */
    synchronized boolean owns(long address) {
        Map.Entry<Long, Long> e = blocks.floorEntry(address);
        return e != null && address < e.getKey() + e.getValue();
    }

    long reservedBytes() {
        return reserved;
    }

    private long take(long size) {
        if (captured != null) {
            long address = takeForCapture(size);
            if (address != 0) captured.add(address);
            return address;
        }
        Long pooled = pooled(size);
        if (pooled != null) return pooled;
        if (reserved - reservedAtCollection > collectEvery) {   // collect before growing: the blocks of dead tensors come back
            reservedAtCollection = reserved;
            System.gc();   // the arenas' cleaners give blocks back soon after; this request does not wait for them
            if ((pooled = pooled(size)) != null) return pooled;
        }
        return reserve(size);
    }

    /** A block for a recorded step: one it released, else one from the pool, else a new one (not prefetched: the stream is recording). */
    private synchronized long takeForCapture(long size) {
        ArrayDeque<Long> mine = captureFree.get(size);
        if (mine != null && !mine.isEmpty()) return mine.pop();
        Long pooled = pooled(size);
        return pooled != null ? pooled : reserve(size);
    }

    private synchronized Long pooled(long size) {
        ArrayDeque<Long> pool = free.get(size);
        return pool == null || pool.isEmpty() ? null : pool.pop();
    }

    /** New blocks reserved (not from the pool), for STATETUNE_PROFILE. */
    long reservations;

    private synchronized long reserve(long size) {
        reservations++;
        long address = driver.allocManaged(size);
        if (address == 0) {   // out of memory: release every cached block and try once more
            for (ArrayDeque<Long> q : free.values())
                for (long a : q) {
                    driver.free(a);
                    reserved -= blocks.remove(a);
                }
            free.clear();
            address = driver.allocManaged(size);
            if (address == 0) return 0;
        }
        driver.keepOnDevice(address, size, deviceOrdinal, captured == null ? stream : null);
        blocks.put(address, size);
        reserved += size;
        return address;
    }

    private synchronized void giveBack(long address, long size) {
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
    }

    private static long roundUp(long bytes) {
        if (bytes >= LARGE) return (bytes + LARGE - 1) / LARGE * LARGE;
        long size = ALIGN;
        while (size < bytes) size <<= 1;
        return size;
    }

    @Override
    public synchronized void close() {
        free.clear();   // blocks still referenced stay valid until the process ends; the driver frees them then
    }
}
