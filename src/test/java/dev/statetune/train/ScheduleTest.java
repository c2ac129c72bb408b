package dev.statetune.train;

import dev.statetune.StatetuneException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Schedules at their known points: start, mid-warmup, warmup end, midpoint of the decay, end. */
class ScheduleTest {
    private static final double PEAK = 1e-3, TOL = 1e-15;

    @Test
    void linearWithWarmup() {
        Schedule s = Schedule.of("linear", PEAK, 10, 110);
        assertEquals(0, s.lr(0), TOL);
        assertEquals(PEAK / 2, s.lr(5), TOL);
        assertEquals(PEAK, s.lr(10), TOL);
        assertEquals(PEAK / 2, s.lr(60), TOL);
        assertEquals(PEAK * 10 / 100, s.lr(100), TOL);
        assertEquals(0, s.lr(110), TOL);
        assertEquals(0, s.lr(500), TOL, "never negative past the end");
    }

    @Test
    void linearWithoutWarmupStartsAtThePeak() {
        // The paper's recipe: the first update uses the full rate.
        Schedule s = Schedule.of("linear", PEAK, 0, 100);
        assertEquals(PEAK, s.lr(0), TOL);
        assertEquals(PEAK * 0.99, s.lr(1), TOL);
        assertEquals(PEAK / 2, s.lr(50), TOL);
        assertEquals(PEAK / 100, s.lr(99), TOL);
    }

    @Test
    void cosineWithWarmup() {
        Schedule s = Schedule.of("cosine", PEAK, 10, 110);
        assertEquals(PEAK * 0.3, s.lr(3), TOL);
        assertEquals(PEAK, s.lr(10), TOL);
        assertEquals(PEAK * 0.5 * (1 + Math.sqrt(0.5)), s.lr(35), 1e-12); // a quarter in: cos(π/4)
        assertEquals(PEAK / 2, s.lr(60), 1e-12);
        assertEquals(0, s.lr(110), 1e-12);
    }

    @Test
    void constantWithWarmup() {
        Schedule s = Schedule.of("constant", PEAK, 4, 100);
        assertEquals(PEAK / 4, s.lr(1), TOL);
        assertEquals(PEAK, s.lr(4), TOL);
        assertEquals(PEAK, s.lr(1000), TOL);
    }

    @Test
    void unknownKindIsAUserError() {
        StatetuneException e = assertThrows(StatetuneException.class, () -> Schedule.of("step", PEAK, 0, 10));
        assertTrue(e.getMessage().contains("'step'"), e.getMessage());
        assertThrows(StatetuneException.class, () -> Schedule.of("linear", -1, 0, 10));
    }
}
