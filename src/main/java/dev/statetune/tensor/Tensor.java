package dev.statetune.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense row-major tensor: a memory segment (heap, off-heap or memory-mapped), its element type
 * and its shape. Data only; the math lives in the backends. Mapped checkpoint data may be
 * unaligned, so every access uses unaligned layouts.
 */
public final class Tensor {
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final MemorySegment data;
    private final DType dtype;
    private final long[] shape;

    public Tensor(MemorySegment data, DType dtype, long... shape) {
        long expected = numel(shape) * dtype.bytes;
        if (data.byteSize() != expected)
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes for " + dtype + Arrays.toString(shape));
        this.data = data;
        this.dtype = dtype;
        this.shape = shape.clone();
    }

    /** A zero-filled float32 tensor on the Java heap. */
    public static Tensor zeros(long... shape) {
        return new Tensor(MemorySegment.ofArray(new float[Math.toIntExact(numel(shape))]), DType.F32, shape);
    }

    public static Tensor of(float[] values, long... shape) {
        return new Tensor(MemorySegment.ofArray(values), DType.F32, shape);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        return n;
    }

    public MemorySegment data() { return data; }
    public DType dtype() { return dtype; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long size(int dim) { return shape[dim < 0 ? shape.length + dim : dim]; }
    public long numel() { return numel(shape); }

    /** Rows [from, to) of dimension 0, sharing this tensor's memory. */
    public Tensor rows(long from, long to) {
        long rowBytes = data.byteSize() / shape[0];
        long[] sub = shape.clone();
        sub[0] = to - from;
        return new Tensor(data.asSlice(from * rowBytes, (to - from) * rowBytes), dtype, sub);
    }

    /** The same memory under another shape of as many elements. */
    public Tensor reshape(long... newShape) {
        return new Tensor(data, dtype, newShape);
    }

    /** Element i (flat, row-major) as a float, whatever the stored type. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(I16, i) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            case F64 -> (float) data.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            case I64 -> data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case I32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case U8 -> data.get(ValueLayout.JAVA_BYTE, i) & 0xff;
        };
    }

    /** Element i (flat) of a float64 tensor (Backend.allocateSums's). */
    public double getDouble(long i) {
        if (dtype != DType.F64) throw new IllegalStateException("not a float64 tensor: " + dtype);
        return data.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
    }

    /** Element i (flat) as a long, for integer tensors (token ids). */
    public long getLong(long i) {
        return switch (dtype) {
            case I64 -> data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case I32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case U8 -> data.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            default -> throw new IllegalStateException("not an integer tensor: " + dtype);
        };
    }

    /** A float32 copy on the Java heap (for small tensors: biases, norms, test fixtures). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }

    /** This tensor as float32: itself when already F32, otherwise a converted off-heap copy. */
    public Tensor toF32(java.lang.foreign.Arena arena) {
        if (dtype == DType.F32) return this;
        MemorySegment out = arena.allocate(numel() * 4, 64);
        for (long i = 0, n = numel(); i < n; i++) out.setAtIndex(ValueLayout.JAVA_FLOAT, i, getFloat(i));
        return new Tensor(out, DType.F32, shape);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
