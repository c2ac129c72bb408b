package dev.statetune.train;

import dev.statetune.data.Batch;
import dev.statetune.data.Batcher;
import dev.statetune.model.MambaLM;
import dev.statetune.peft.Adapter;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import dev.statetune.peft.Parameter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * TrainingStep, which queues a whole step and reads its loss and gradient norm once it is done, gives
 * what the step's parts give one by one: zeroed gradients, loss with backward per micro-batch, the
 * average, clipping, AdamW.
 */
class TrainingStepTest {
    @Test
    void aStepIsItsPartsOneByOne() {
        MethodOptions noDropout = new MethodOptions(4, 8, 0, MethodOptions.PAPER_LORA_TARGETS, 4, false, 8);
        List<Method> methods = List.of(Method.STATE_OFFSET_H, Method.LORA, Method.BITFIT);
        Batcher batches = new Batcher(TrainerTest.task(32, 5), 4, 3, 0, false);
        List<Batch> data = new ArrayList<>();
        for (int i = 0; i < 6; i++) data.add(batches.next());
        try (MambaLM queued = TrainerTest.tiny(); MambaLM byParts = TrainerTest.tiny()) {
            Adapter a = Adapter.create(queued, methods, noDropout, 7), b = Adapter.create(byParts, methods, noDropout, 7);
            a.attach(queued);
            b.attach(byParts);
            AdamW optA = new AdamW(0.01), optB = new AdamW(0.01);
            try (TrainingStep step = new TrainingStep(queued, a.parameters(), optA, 0.05)) {
                for (int s = 0; s < 3; s++) {
                    List<Batch> micro = data.subList(2 * s, 2 * s + (s == 1 ? 1 : 2));   // two micro-batches, then one, then two
                    List<TrainingStep.Micro> queuedMicro = micro.stream()
                            .map(x -> new TrainingStep.Micro(queued.tokens(x.inputIds(), x.labels()), 0)).toList();
                    TrainingStep.Result done = step.run(queuedMicro, 1e-2);

                    b.parameters().forEach(p -> p.zeroGrad(TrainerTest.CPU));
                    double lossSum = 0;
                    int targets = 0;
                    for (Batch x : micro) {
                        var r = byParts.loss(x.inputIds(), x.labels(), true);
                        lossSum += r.meanLoss();
                        targets += r.targets();
                    }
                    for (Parameter p : b.parameters()) TrainerTest.CPU.scaleInPlace(p.gradTensor(), (float) (1.0 / micro.size()));
                    double norm = GradClip.clip(TrainerTest.CPU, b.parameters(), 0.05);
                    optB.step(TrainerTest.CPU, b.parameters(), 1e-2);

                    assertEquals(lossSum / micro.size(), done.loss(), 1e-12, "step " + s + " loss");
                    assertEquals(targets, done.sums().targets(), "step " + s + " targets");
                    assertEquals(norm, done.gradNorm(), 1e-12 * norm, "step " + s + " gradient norm");
                    assertTrue(norm > 0.05, "the clip acted (norm " + norm + ")");
                    for (int k = 0; k < a.parameters().size(); k++)
                        assertArrayEquals(b.parameters().get(k).value, a.parameters().get(k).value, a.parameters().get(k).name + " after step " + s);
                }
                assertFalse(step.replayed(), "the CPU backend records nothing");
            }
        }
    }
}
