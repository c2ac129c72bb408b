package dev.statetune.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU backend's own exp, softplus and lane sum: accurate against StrictMath, the scalar and
 * vector forms give the same bits, and lanes add in one fixed order (what makes results
 * independent of JIT tiers).
 */
class CpuMathTest {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void expIsAccurateAndScalarEqualsVector() {
        SplittableRandom rnd = new SplittableRandom(1);
        float[] x = new float[F.length()];
        for (int round = 0; round < 5000; round++) {
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-87, 88);
            FloatVector v = CpuMath.exp(FloatVector.fromArray(F, x, 0));
            for (int i = 0; i < x.length; i++) {
                float scalar = CpuMath.exp(x[i]);
                assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(v.lane(i)), "exp(" + x[i] + ")");
                double exact = StrictMath.exp(x[i]);
                assertEquals(exact, scalar, 4e-7 * exact, "exp(" + x[i] + ")");
            }
        }
    }

    @Test
    void softplusIsAccurateAndScalarEqualsVector() {
        SplittableRandom rnd = new SplittableRandom(2);
        float[] x = new float[F.length()];
        for (int round = 0; round < 5000; round++) {
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-40, 40);
            FloatVector v = CpuMath.softplus(FloatVector.fromArray(F, x, 0));
            for (int i = 0; i < x.length; i++) {
                float scalar = CpuMath.softplus(x[i]);
                assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(v.lane(i)), "softplus(" + x[i] + ")");
                double exact = x[i] > 20 ? x[i] : StrictMath.log1p(StrictMath.exp(x[i]));
                assertEquals(exact, scalar, 5e-7 * exact + 1e-30, "softplus(" + x[i] + ")");
            }
        }
    }

    @Test
    void laneSumIsLeftToRight() {
        float[] x = {1e8f, 1f, -1e8f, 1f, 0.5f, 3f, 2f, 7f, 1e-3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f};
        float expected = 0;
        for (int i = 0; i < F.length(); i++) expected += x[i % x.length];
        float[] lanes = new float[F.length()];
        for (int i = 0; i < lanes.length; i++) lanes[i] = x[i % x.length];
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(CpuMath.sumLanes(lanes, 0)));
    }
}
