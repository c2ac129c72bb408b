package dev.statetune.model;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

/**
 * The scan inputs of a layer with Additional-scan's extra state dimensions: B | B′ | C | C′ side
 * by side (the layout the scan reads) and A | −exp(A_log′), and the backward that splits their
 * gradients back onto x_proj's output and the extra parameters.
 */
final class WideScan {
    private final Backend backend;

    WideScan(Backend backend) {
        this.backend = backend;
    }

    /** (di, n+n′) = A | −exp(A_log′). */
    Tensor A(Tensor a, ExtraState extra) {
        int di = (int) a.size(0), n = (int) a.size(1), m = extra.dims();
        Tensor wide = backend.allocate(di, n + m), added = backend.allocate(di, m);
        backend.addScaledColumns(wide, 0, a, 1f);
        backend.negExp(extra.aLog(), added);
        backend.addScaledColumns(wide, n, added, 1f);
        return wide;
    }

    /** (T, 2(n+n′)) = B | x·B′ᵀ | C | x·C′ᵀ from dtBC (T, r+2n) and x (T, di). */
    Tensor bc(Tensor dtBC, int r, int n, Tensor x, ExtraState extra) {
        int tokens = (int) x.size(0), m = extra.dims();
        Tensor wide = backend.allocate(tokens, 2L * (n + m)), part = backend.allocate(tokens, n), added = backend.allocate(tokens, m);
        backend.copyColumns(dtBC, r, part);
        backend.addScaledColumns(wide, 0, part, 1f);
        backend.copyColumns(dtBC, r + n, part);
        backend.addScaledColumns(wide, n + m, part, 1f);
        backend.linear(x, 0, extra.B(), null, added);
        backend.addScaledColumns(wide, n, added, 1f);
        added = backend.allocate(tokens, m);
        backend.linear(x, 0, extra.C(), null, added);
        backend.addScaledColumns(wide, 2 * n + m, added, 1f);
        return wide;
    }

    /**
     * From the scan's dbc (T, 2(n+n′)) and dA (di, n+n′): ddtBC's B and C columns, dx through the
     * new rows, and the extra parameters' gradients; returns dA's first n columns (for A_log).
     */
    Tensor backward(Tensor dbc, Tensor dA, Tensor wideA, int r, int n, Tensor x, ExtraState extra, Tensor ddtBC, Tensor dx) {
        int tokens = (int) x.size(0), m = extra.dims();
        Tensor part = backend.allocate(tokens, n), added = backend.allocate(tokens, m);
        backend.copyColumns(dbc, 0, part);
        backend.addScaledColumns(ddtBC, r, part, 1f);
        backend.copyColumns(dbc, n + m, part);
        backend.addScaledColumns(ddtBC, r + n, part, 1f);
        backend.copyColumns(dbc, n, added);
        backend.linearBackward(x, 0, extra.B(), added, dx, 0, extra.dB(), null);
        added = backend.allocate(tokens, m);
        backend.copyColumns(dbc, 2 * n + m, added);
        backend.linearBackward(x, 0, extra.C(), added, dx, 0, extra.dC(), null);
        int di = (int) dA.size(0);   // dA is never null here: the extra A_log columns always train
        Tensor base = backend.allocate(di, n);
        backend.copyColumns(dA, 0, base);
        if (extra.dALog() != null) {   // A′ = −exp(A_log′): ∂A′/∂A_log′ = A′
            Tensor dAdded = backend.allocate(di, m), aAdded = backend.allocate(di, m);
            backend.copyColumns(dA, n, dAdded);
            backend.copyColumns(wideA, n, aAdded);
            backend.multiplyInPlace(dAdded, aAdded);
            backend.addInPlace(extra.dALog(), dAdded);
        }
        return base;
    }
}
