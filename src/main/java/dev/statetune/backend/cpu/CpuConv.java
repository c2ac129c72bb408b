package dev.statetune.backend.cpu;

import dev.statetune.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Depthwise causal conv1d + SiLU over channel-last activations (HF's `act(conv1d(x)[..., :len])`),
 * continuing from a conv state of the k−1 previous inputs. Work items are (sequence, block of
 * channels); the block's inputs are copied below its k−1 state rows so every output is a plain
 * k-tap dot product, vectorised across channels.
 */
final class CpuConv {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int BLOCK = 64;

    private CpuConv() {}

    static void convSilu(Parallel par, Tensor in, int inCol, int batch, int len, Tensor weight, Tensor bias, Tensor convState, Tensor out) {
        int inner = (int) out.size(1), k = (int) weight.size(weight.rank() - 1), stride = (int) in.size(1);
        float[] w = weight.toFloatArray();          // (di, 1, k)
        float[] wt = new float[k * inner];          // (k, di): tap-major, so a tap's weights are contiguous across channels
        for (int c = 0; c < inner; c++) for (int j = 0; j < k; j++) wt[j * inner + c] = w[c * k + j];
        float[] b = bias == null ? new float[inner] : bias.toFloatArray();
        MemorySegment xs = in.data(), os = out.data(), st = convState.data();
        int blocks = (inner + BLOCK - 1) / BLOCK;
        par.forEach(batch * blocks, item -> {
            int s = item / blocks, c0 = (item % blocks) * BLOCK, width = Math.min(BLOCK, inner - c0);
            float[] pad = new float[(len + k - 1) * width];    // (k−1 + len, width)
            for (int c = 0; c < width; c++)
                for (int j = 0; j < k - 1; j++) pad[j * width + c] = st.getAtIndex(Tensor.F32, ((long) s * inner + c0 + c) * (k - 1) + j);
            for (int t = 0; t < len; t++)
                MemorySegment.copy(xs, Tensor.F32, (((long) s * len + t) * stride + inCol + c0) * 4, pad, (k - 1 + t) * width, width);
            float[] row = new float[width];
            for (int t = 0; t < len; t++) {
                int c = 0;
                for (; c + F.length() <= width; c += F.length()) {
                    FloatVector acc = FloatVector.fromArray(F, b, c0 + c);
                    for (int j = 0; j < k; j++)
                        acc = FloatVector.fromArray(F, wt, j * inner + c0 + c).fma(FloatVector.fromArray(F, pad, (t + j) * width + c), acc);
                    CpuMath.silu(acc).intoArray(row, c);
                }
                for (; c < width; c++) {
                    float acc = b[c0 + c];
                    for (int j = 0; j < k; j++) acc += wt[j * inner + c0 + c] * pad[(t + j) * width + c];
                    row[c] = CpuMath.silu(acc);
                }
                MemorySegment.copy(row, 0, os, Tensor.F32, (((long) s * len + t) * inner + c0) * 4, width);
            }
            for (int c = 0; c < width; c++)
                for (int j = 0; j < k - 1; j++) st.setAtIndex(Tensor.F32, ((long) s * inner + c0 + c) * (k - 1) + j, pad[(len + j) * width + c]);
        });
    }
}
