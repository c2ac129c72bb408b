package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * Virtual tokens (Prompt Tuning's soft prompt, Prefix-Tuning's prefix) as rows of activation
 * matrices: M rows put before each sequence's rows, and the gradient taken apart again.
 */
public final class VirtualRows {
    private VirtualRows() {}

    /** (b·(M+len), d): before each sequence's rows of x (b·len, d), the M rows of lead; x itself when lead is null. */
    public static Tensor prepend(Backend backend, Tensor lead, Tensor x, int batch, int len) {
        if (lead == null) return x;
        int m = (int) lead.size(0), full = m + len;
        Tensor out = backend.allocate((long) batch * full, x.size(1));
        for (int s = 0; s < batch; s++) {
            backend.copy(lead, out.rows((long) s * full, (long) s * full + m));
            backend.copy(x.rows((long) s * len, (long) (s + 1) * len), out.rows((long) s * full + m, (long) (s + 1) * full));
        }
        return out;
    }

    /**
     * The inverse of prepend for a gradient: the (b·len, d) rows after each sequence's first m, and
     * those m rows summed over the batch into dLead (when it is non-null).
     */
    public static Tensor dropLeading(Backend backend, Tensor full, int batch, int len, int m, Tensor dLead) {
        if (m == 0) return full;
        Tensor out = backend.allocate((long) batch * len, full.size(1));
        for (int s = 0; s < batch; s++) {
            long at = (long) s * (m + len);
            if (dLead != null) backend.addInPlace(dLead, full.rows(at, at + m));
            backend.copy(full.rows(at + m, at + m + len), out.rows((long) s * len, (long) (s + 1) * len));
        }
        return out;
    }
}
