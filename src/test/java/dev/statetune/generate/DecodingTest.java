package dev.statetune.generate;

import dev.statetune.Fixtures;
import dev.statetune.backend.cpu.CpuBackend;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.MambaLM;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Beam search and batched greedy decoding against transformers' own generate() on the built-in
 * model (fixture from scripts/reference/beam_search.py: 4 prompts × 2 eos tokens × {5 beams, length
 * penalty 1; 3 beams, 0.5; greedy}), each prompt alone and all prompts as one batch.
 */
class DecodingTest {
    static final CpuBackend BACKEND = new CpuBackend(2);
    static MambaLM lm;
    static SafeTensors ref;

    @BeforeAll
    static void open() {
        lm = new MambaLM(Checkpoint.open(Fixtures.tinyModel()), BACKEND);
        ref = SafeTensors.open(Fixtures.resource("fixtures/decoding/beam.reference.safetensors"));
    }

    @AfterAll
    static void close() {
        ref.close();
        lm.close();
        BACKEND.close();
    }

    record Case(int index, int[] prompt, int[] ids, int eos, int beams, int maxNew, float lengthPenalty, float score) {}

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (int c = 0; ref.tensors().containsKey("prompt_" + c); c++) {
            Tensor score = ref.tensors().get("score_" + c);
            out.add(new Case(c, longs(ref.get("prompt_" + c)), longs(ref.get("ids_" + c)), (int) ref.get("eos_" + c).getLong(0),
                    (int) ref.get("beams_" + c).getLong(0), (int) ref.get("max_new_" + c).getLong(0),
                    ref.get("length_penalty_" + c).getFloat(0), score == null ? Float.NaN : score.getFloat(0)));
        }
        assertEquals(24, out.size());
        return out;
    }

    static int[] longs(Tensor t) {
        int[] out = new int[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = (int) t.getLong(i);
        return out;
    }

    @Test
    void beamSearchEqualsTransformersForEachPromptAlone() {
        int checked = 0;
        for (Case c : cases()) {
            if (c.beams == 1) continue;
            BeamSearch.Hypothesis h = BeamSearch.search(lm, List.of(c.prompt), options(c)).getFirst();
            assertArrayEquals(c.ids, h.tokens(), "case " + c.index + ": " + Arrays.toString(h.tokens()));
            assertEquals(c.score, h.score(), 1e-4, "case " + c.index + " sequence score");
            checked++;
        }
        assertEquals(16, checked);
    }

    @Test
    void beamSearchOfManyPromptsAsOneBatchEqualsEachAlone() {
        for (int beams : new int[] {5, 3}) {
            List<Case> same = cases().stream().filter(c -> c.beams == beams).toList();
            // One batch per eos (options are shared by a batch); prompts finish at different steps.
            for (int eos : same.stream().mapToInt(Case::eos).distinct().toArray()) {
                List<Case> group = same.stream().filter(c -> c.eos == eos).toList();
                List<BeamSearch.Hypothesis> got = BeamSearch.search(lm, group.stream().map(Case::prompt).toList(), options(group.getFirst()));
                for (int i = 0; i < group.size(); i++)
                    assertArrayEquals(group.get(i).ids, got.get(i).tokens(), "case " + group.get(i).index + " in a batch");
            }
        }
    }

    @Test
    void batchedGreedyEqualsTransformers() {
        for (int eos : new int[] {0, 261}) {
            List<Case> group = cases().stream().filter(c -> c.beams == 1 && c.eos == eos).toList();
            assertEquals(4, group.size());
            List<int[]> got = GreedySearch.search(lm, group.stream().map(Case::prompt).toList(), group.getFirst().maxNew, eos);
            for (int i = 0; i < group.size(); i++)
                assertArrayEquals(group.get(i).ids, got.get(i), "greedy case " + group.get(i).index);
        }
    }

    @Test
    void lastLogitsOfRightPaddedRowsEqualTheUnpaddedForward() {
        int[][] ids = {{5, 9, 33, 400, 7, 0, 0}, {12, 800, 3, 3, 91, 17, 250}};
        int[] lengths = {5, 7};
        Tensor last = lm.lastLogits(ids, lengths);
        for (int s = 0; s < 2; s++) {
            int[] row = Arrays.copyOf(ids[s], lengths[s]);
            float[] expected = LanguageModel.row(lm.forward(new int[][] {row}, lm.newState(1)), lengths[s] - 1);
            Fixtures.assertClose(expected, LanguageModel.row(last, s), 1e-5, 1e-5, "row " + s);
        }
    }

    static BeamSearch.Options options(Case c) {
        return new BeamSearch.Options(c.beams, c.lengthPenalty, c.maxNew, c.eos);
    }
}
