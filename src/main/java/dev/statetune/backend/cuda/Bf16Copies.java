package dev.statetune.backend.cuda;

import dev.statetune.tensor.Tensor;

import java.util.Map;
import java.util.TreeMap;

/**
 * The bf16 copies that CudaBackend keeps beside the activations a linear reads
 * (Backend.allocateLinearInput, with --dtype bf16): the op that writes such a tensor writes its copy
 * too, and the linear reads the copy instead of rounding the tensor for its GEMM. A copy is current
 * only while its tensor's last writer was such an op: every other write (any op's output, through
 * CudaBackend.out, to the tensor or to a view of any of its rows) marks it stale, so a stale copy is
 * never read. Keyed by the tensor's device address; a new allocation there forgets the old entry.
 */
final class Bf16Copies {
    /** A tensor's copy: its address, the elements it covers, and whether it holds the tensor's values now. */
    private static final class Copy {
        final long address, elements;
        boolean current;

        Copy(long address, long elements) {
            this.address = address;
            this.elements = elements;
        }
    }

    private final TreeMap<Long, Copy> copies = new TreeMap<>();

    /** Tensor data at `tensor` (elements floats) has its bf16 copy at `copy`. */
    void add(long tensor, long elements, long copy) {
        copies.put(tensor, new Copy(copy, elements));
    }

    /** A new tensor at this address: it has no copy (unless add says so). */
    void forget(long tensor) {
        if (!copies.isEmpty()) copies.remove(tensor);
    }

    /** Something other than a copy-filling op wrote a tensor at this address: a copy it falls in is stale. */
    void written(long address) {
        Map.Entry<Long, Copy> e = copies.isEmpty() ? null : copies.floorEntry(address);
        if (e != null && address < e.getKey() + 4 * e.getValue().elements) e.getValue().current = false;
    }

    /**
     * Where the op that is writing t (its output, already passed through CudaBackend.out) writes t's bf16
     * copy too, which is current from then on; 0 when t has none (a view of part of it, a plain or host tensor).
     */
    long fill(Tensor t) {
        Copy c = copies.isEmpty() ? null : copies.get(t.data().address());
        if (c == null || c.elements != t.numel()) return 0L;
        c.current = true;
        return c.address;
    }

    /** The current bf16 copy of t[:, col : col+cols], when that is all of t; else 0. */
    long current(Tensor t, int col, int cols) {
        Copy c = copies.isEmpty() ? null : copies.get(t.data().address());
        return c != null && c.current && c.elements == t.numel() && col == 0 && cols == t.size(1) ? c.address : 0L;
    }
}
