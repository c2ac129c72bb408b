package dev.statetune.peft;

import dev.statetune.model.MambaConfig;
import dev.statetune.model.ModelShapes;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The trainable-parameter table of PAPER_NOTES.md, reproduced exactly. */
class ParameterCountTest {
    static final MethodOptions PAPER = MethodOptions.defaults();

    @Test
    void mamba130m() {
        MambaConfig c = ModelShapes.config("130m");
        assertEquals(129_135_360L, c.parameterCount());
        assertEquals(589_824L, Method.STATE_OFFSET_H.parameterCount(c, PAPER));
        assertEquals(589_824L, Method.INITIAL_STATE.parameterCount(c, PAPER));
        assertEquals(36_864L, Method.STATE_OFFSET_Y.parameterCount(c, PAPER));
        assertEquals(1_204_224L, Method.LORA.parameterCount(c, PAPER));
        assertEquals(884_736L, Method.ADDITIONAL_SCAN.parameterCount(c, PAPER));
    }

    @Test
    void mamba1_4b() {
        MambaConfig c = ModelShapes.config("1.4b");
        assertEquals(1_372_178_432L, c.parameterCount());
        assertEquals(3_145_728L, Method.STATE_OFFSET_H.parameterCount(c, PAPER));
        assertEquals(196_608L, Method.STATE_OFFSET_Y.parameterCount(c, PAPER));
        assertEquals(6_402_048L, Method.LORA.parameterCount(c, PAPER));
        assertEquals(4_718_592L, Method.ADDITIONAL_SCAN.parameterCount(c, PAPER));
    }

    @Test
    void anAdapterHoldsWhatItsMethodsCount() {
        MambaConfig c = ModelShapes.config("130m");
        MethodOptions withConv = new MethodOptions(8, 8, 0.1, MethodOptions.PAPER_LORA_TARGETS, 16, true, 8);
        Adapter a = Adapter.create(c, java.util.List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.INITIAL_STATE), withConv);
        assertEquals(Method.STATE_OFFSET_H.parameterCount(c, withConv) + Method.STATE_OFFSET_Y.parameterCount(c, withConv)
                + Method.INITIAL_STATE.parameterCount(c, withConv), a.parameterCount());
        assertEquals(589_824L + 36_864L + 589_824L + 24L * 1536 * 3, a.parameterCount());
    }
}
