package dev.statetune.train;

import java.util.Arrays;

/**
 * A trainable tensor: fp32 master values and their gradient, under its adapter / Hugging Face name.
 * The model side accumulates into {@link #grad}; the optimizer updates {@link #value} in place.
 */
public final class Parameter {
    public final String name;
    public final long[] shape;
    public final float[] value; // row-major, numel(shape)
    public final float[] grad; // same layout as value
    /** False for offsets, states, biases and norms: PAPER_NOTES' recipe never decays those. */
    public final boolean weightDecay;

    public Parameter(String name, float[] value, boolean weightDecay, long... shape) {
        long numel = 1;
        for (long s : shape) numel = Math.multiplyExact(numel, s);
        if (numel != value.length)
            throw new IllegalArgumentException(name + ": " + value.length + " values for shape " + Arrays.toString(shape));
        this.name = name;
        this.shape = shape.clone();
        this.value = value;
        this.grad = new float[value.length];
        this.weightDecay = weightDecay;
    }

    public void zeroGrad() {
        Arrays.fill(grad, 0f);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
