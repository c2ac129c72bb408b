package dev.statetune.eval;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.generate.Sampler;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Batched, right-padded label scoring picks what a forward over each prompt alone picks. */
class LabelScoringTest {
    @Test
    void batchedScoringEqualsEachPromptAlone() {
        try (CpuBackend backend = new CpuBackend(2); MambaLM lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), backend)) {
            SplittableRandom random = new SplittableRandom(7);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 11; i++) prompts.add(random.ints(3 + random.nextInt(30), 1, 1000).toArray());
            int[] expected = new int[prompts.size()];
            for (int i = 0; i < expected.length; i++) {
                int[] p = prompts.get(i);
                expected[i] = Sampler.argmax(LanguageModel.row(lm.forward(new int[][] {p}, lm.newState(1)), p.length - 1));
            }
            List<Integer> progress = new ArrayList<>();
            assertArrayEquals(expected, LabelScoring.argmaxAfter(lm, prompts, 4, 0, progress::add));
            assertEquals(List.of(4, 8, 11), progress);
        }
    }
}
