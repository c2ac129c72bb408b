package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation over the recurrent state: one forward over the prompt, then one
 * decode step per new token (no re-encoding of the prefix). Stops after maxNewTokens or at eos.
 */
public final class Generator {
    private final LanguageModel model;

    public Generator(LanguageModel model) {
        this.model = model;
    }

    /** The new tokens (eos included when it ends the text); each is passed to onToken as it is chosen. */
    public int[] generate(int[] prompt, int maxNewTokens, Sampler sampler, boolean stopAtEos, IntConsumer onToken) {
        List<Integer> out = new ArrayList<>();
        if (maxNewTokens <= 0) return new int[0];
        DecodeState state = model.newState(1);
        float[] logits = LanguageModel.row(model.forward(new int[][] {prompt}, state), prompt.length - 1);
        int eos = model.eosTokenId();
        try (DecodeSteps steps = new DecodeSteps(model)) {
            while (true) {
                int next = sampler.next(logits);
                out.add(next);
                onToken.accept(next);
                if ((stopAtEos && next == eos) || out.size() >= maxNewTokens) break;
                try (Backend.Scope step = model.backend().openScope()) {   // the step's tensors go back to the pool at once
                    logits = LanguageModel.row(steps.step(new int[] {next}, state), 0);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
