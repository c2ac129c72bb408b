package dev.statetune.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The demo's task: a context of random tokens, then one answer token that is always the same.
 * Learning it means moving the output at the *last* position, however long the context: what
 * State-offset Tuning does at every step, and what an initial state (or a prefix, its equivalent)
 * can only do through a state whose influence decays as the context grows (PAPER_NOTES.md).
 */
public final class LateSignalTask {
    private LateSignalTask() {}

    /** count examples of contextLength random ids in [1, vocab) followed by answer (the only target). */
    public static List<Example> examples(int count, int contextLength, int answer, int vocab, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>(count);
        for (int e = 0; e < count; e++) {
            int[] ids = new int[contextLength + 1], labels = new int[contextLength + 1];
            for (int t = 0; t < contextLength; t++) {
                ids[t] = rnd.nextInt(1, vocab);
                labels[t] = Example.IGNORE;
            }
            ids[contextLength] = answer;
            labels[contextLength] = answer;
            out.add(new Example(ids, labels));
        }
        return out;
    }
}
