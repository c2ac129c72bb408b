package dev.statetune.train;

import dev.statetune.StatetuneException;
import dev.statetune.data.tasks.Tasks;
import dev.statetune.peft.Method;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Entries of PAPER_NOTES' training recipe, read off the table by hand. */
class PaperRecipeTest {
    @Test
    void learningRatesComeFromThePapersTable() {
        assertEquals(1e-3, PaperRecipe.learningRate(Tasks.byName("glue/rte"), List.of(Method.STATE_OFFSET_H)));
        assertEquals(4e-2, PaperRecipe.learningRate(Tasks.byName("glue/qqp"), List.of(Method.ADDITIONAL_SCAN)));
        assertEquals(4e-5, PaperRecipe.learningRate(Tasks.byName("glue/cola"), List.of(Method.LORA)));
        assertEquals(2e-3, PaperRecipe.learningRate(Tasks.byName("spider"), List.of(Method.STATE_OFFSET_Y)));
        assertEquals(2e-4, PaperRecipe.learningRate(Tasks.byName("samsum"), List.of(Method.INITIAL_STATE)));
        assertEquals(1e-1, PaperRecipe.learningRate(Tasks.byName("glue/sst2"), List.of(Method.ADDITIONAL_SCAN)));
    }

    @Test
    void noRateWithoutAPaperEntry() {
        for (var ask : List.of(List.of(Method.PREFIX), List.of(Method.STATE_OFFSET_H, Method.STATE_OFFSET_Y))) {
            var e = assertThrows(StatetuneException.class, () -> PaperRecipe.learningRate(Tasks.byName("glue/rte"), ask));
            assertTrue(e.getMessage().contains("pass --lr"), e.getMessage());
        }
        assertThrows(StatetuneException.class, () -> PaperRecipe.learningRate(Tasks.byName("glue/stsb"), List.of(Method.LORA)));
    }

    @Test
    void epochsAndBatchSize() {
        assertEquals(3, PaperRecipe.epochs(Tasks.byName("glue/mnli")));
        assertEquals(3, PaperRecipe.epochs(Tasks.byName("glue/qqp")));
        assertEquals(10, PaperRecipe.epochs(Tasks.byName("dart")));
        assertEquals(2, PaperRecipe.batchSize(List.of(Method.INITIAL_STATE), 1_372_178_432L));
        assertEquals(4, PaperRecipe.batchSize(List.of(Method.INITIAL_STATE), 129_135_360L));
        assertEquals(4, PaperRecipe.batchSize(List.of(Method.STATE_OFFSET_H), 1_372_178_432L));
    }
}
