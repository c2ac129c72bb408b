package dev.statetune.peft;

import dev.statetune.backend.Backend;
import dev.statetune.tensor.Tensor;

import java.util.Arrays;

/**
 * A trainable tensor: fp32 master values and their gradient, under its adapter / Hugging Face name.
 * The model side accumulates into {@link #grad}; the optimizer updates {@link #value} in place.
 * Training on a GPU keeps device copies of both (Backend.keepResident): the arrays are then stale
 * until Backend.writeBackResident.
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

    /** The values as a tensor of this shape (a view of the array, no copy). */
    public Tensor valueTensor() {
        return Tensor.of(value, shape);
    }

    /** The gradient as a tensor of this shape (a view of the array, no copy). */
    public Tensor gradTensor() {
        return Tensor.of(grad, shape);
    }

    /** Keeps the values and the gradient on the backend's device for a training run (Backend.keepResident). */
    public void keepResident(Backend backend) {
        backend.keepResident(valueTensor());
        backend.keepResident(gradTensor());
    }

    public void zeroGrad(Backend backend) {
        backend.zero(gradTensor());
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
