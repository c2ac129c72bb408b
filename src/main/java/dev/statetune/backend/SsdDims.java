package dev.statetune.backend;

/**
 * The sizes of one Mamba-2 SSD scan: nHeads heads of headDim channels share nGroups groups of B
 * and C (heads h·nGroups/nHeads … read group h / (nHeads/nGroups)), each of stateDim; the chunked
 * form works on chunkSize positions at a time (the checkpoint's chunk_size).
 */
public record SsdDims(int nHeads, int headDim, int nGroups, int stateDim, int chunkSize) {
    public SsdDims {
        if (nHeads <= 0 || headDim <= 0 || nGroups <= 0 || stateDim <= 0 || chunkSize <= 0 || nHeads % nGroups != 0)
            throw new IllegalArgumentException("SSD sizes: " + this);
    }

    /** nHeads·headDim: the width of x and of the scan output. */
    public int innerDim() { return nHeads * headDim; }

    /** The conv's channels x | B | C: innerDim + 2·nGroups·stateDim. */
    public int convDim() { return innerDim() + 2 * nGroups * stateDim; }

    /** The group whose B and C head h reads. */
    public int group(int head) { return head / (nHeads / nGroups); }
}
