package dev.statetune.peft;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.MambaLM;
import dev.statetune.model.ModelShapes;
import org.junit.jupiter.api.Test;

import java.util.List;

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
        MethodOptions withConv = new MethodOptions(8, 8, 0.1, MethodOptions.PAPER_LORA_TARGETS, 16, true, 8);
        try (CpuBackend cpu = new CpuBackend(1); MambaLM tiny = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), cpu)) {
            MambaConfig c = tiny.config();   // 3 layers, d_inner 192, d_state 16, d_conv 4
            for (List<Method> methods : List.of(List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y, Method.INITIAL_STATE),
                    List.of(Method.BITFIT), List.of(Method.FULL)))
                assertEquals(methods.stream().mapToLong(m -> m.parameterCount(c, withConv)).sum(),
                        Adapter.create(tiny, methods, withConv).parameterCount(), methods.toString());
            assertEquals(3L * (192 * 16 + 192 + 192 * 16 + 192 * 3), Method.STATE_OFFSET_H.parameterCount(c, withConv)
                    + Method.STATE_OFFSET_Y.parameterCount(c, withConv) + Method.INITIAL_STATE.parameterCount(c, withConv));
            assertEquals(3L * (192 + 192), Method.BITFIT.parameterCount(c, withConv));
            assertEquals(300_864L, Method.FULL.parameterCount(c, withConv));
        }
    }
}
