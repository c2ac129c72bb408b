package dev.statetune.generate;

import dev.statetune.backend.Backend;
import dev.statetune.model.DecodeState;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Beam search over the recurrent state, as transformers' {@code generate(num_beams=K,
 * length_penalty=α, early_stopping=False)} computes it (GenerationMixin._beam_search): each step
 * ranks the 2K best continuations of the K running beams by summed log-probability; those of the
 * top K that end (eos, or the last allowed token) are scored sum / length^α and kept when among the
 * K best finished; the K best that do not end run on. An example stops when its K finished slots
 * are full and the best running beam, scored at the current length, cannot beat the worst of them.
 * Many prompts decode as one batch of prompts·K rows; each gets the result it would get alone.
 */
public final class BeamSearch {
    /** The paper's decoding (PAPER_NOTES "Data formats"): 5 beams, length penalty 1. */
    public record Options(int numBeams, double lengthPenalty, int maxNewTokens, int eos) {
        public Options {
            if (numBeams < 1) throw new IllegalArgumentException("numBeams must be ≥ 1");
            if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be ≥ 1");
        }
    }

    /** A finished hypothesis: its new tokens (eos last when it ended on eos) and its score. */
    public record Hypothesis(int[] tokens, float score) {}

    private static final float UNREACHABLE = -1.0e9f;   // transformers' score for beams that do not exist yet

    private BeamSearch() {}

    /** The best hypothesis for each prompt, in order. */
    public static List<Hypothesis> search(LanguageModel model, List<int[]> prompts, Options o) {
        int k = o.numBeams();
        if (model.vocabSize() < 2 * k) throw new IllegalArgumentException("a vocabulary of fewer than 2·" + k + " tokens");
        PromptStates start = PromptStates.read(model, prompts, k);
        Hypothesis[] best = new Hypothesis[prompts.size()];
        List<Search> active = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) active.add(new Search(p, k));
        DecodeState state = start.state();                                     // (active·k rows)
        float[][] rows = new float[prompts.size() * k][];                     // logits per row
        for (int p = 0; p < prompts.size(); p++) Arrays.fill(rows, p * k, p * k + k, start.logits()[p]);
        for (int generated = 0; !active.isEmpty(); generated++) {
            float norm = (float) Math.pow(generated + 1, o.lengthPenalty());
            boolean last = generated + 1 >= o.maxNewTokens();
            List<Search> next = new ArrayList<>();
            int[] sourceRows = new int[active.size() * k], tokens = new int[active.size() * k];
            for (int a = 0; a < active.size(); a++) {
                Search s = active.get(a);
                Candidate[] ranked = s.topContinuations(rows, a * k, 2 * k);
                if (s.improvable)
                    for (int i = 0; i < k; i++)
                        if (last || ranked[i].token == o.eos()) s.offerFinished(ranked[i], ranked[i].score / norm);
                if (!last) s.advance(ranked, o.eos());
                if (last || !s.stillImprovable(norm)) {
                    best[s.prompt] = s.finished.getFirst();
                    continue;
                }
                for (int b = 0; b < k; b++) {
                    sourceRows[next.size() * k + b] = a * k + s.origin[b];
                    tokens[next.size() * k + b] = s.beams[b][s.beams[b].length - 1];
                }
                next.add(s);
            }
            active = next;
            if (active.isEmpty()) break;
            int live = active.size() * k;
            state = state.select(model.backend(), Arrays.copyOf(sourceRows, live));
            rows = new float[live][];
            try (Backend.Scope step = model.backend().openScope()) {           // the step's tensors go back to the pool at once
                Tensor logits = model.step(Arrays.copyOf(tokens, live), state);    // (live, vocab)
                for (int r = 0; r < live; r++) rows[r] = LanguageModel.row(logits, r);
            }
        }
        return Arrays.asList(best);
    }

    private record Candidate(float score, int beam, int token) {}

    /** One prompt's beams. */
    private static final class Search {
        final int prompt, k;
        int[][] beams;              // running beams' new tokens
        float[] scores;             // their summed log-probabilities
        int[] origin;               // the beam each running beam continued this step
        final List<Hypothesis> finished = new ArrayList<>();   // best first, at most k
        boolean improvable = true;  // transformers' is_early_stop_heuristic_unsatisfied

        Search(int prompt, int k) {
            this.prompt = prompt;
            this.k = k;
            beams = new int[k][0];
            scores = new float[k];
            Arrays.fill(scores, 1, k, UNREACHABLE);   // all beams start equal: only beam 0 may continue at first
        }

        /** The `want` best continuations over all beams, by summed log-probability, best first. */
        Candidate[] topContinuations(float[][] rows, int firstRow, int want) {
            List<Candidate> all = new ArrayList<>(k * want);
            for (int b = 0; b < k; b++) {
                if (scores[b] == UNREACHABLE) continue;
                float[] logits = rows[firstRow + b];
                float max = Float.NEGATIVE_INFINITY;
                for (float x : logits) max = Math.max(max, x);
                double sum = 0;
                for (float x : logits) sum += Math.exp(x - max);
                float logSum = (float) Math.log(sum);
                for (int token : topTokens(logits, want)) all.add(new Candidate(scores[b] + ((logits[token] - max) - logSum), b, token));
            }
            all.sort((x, y) -> Float.compare(y.score, x.score));
            return all.subList(0, want).toArray(Candidate[]::new);
        }

        /** The k best continuations that do not end run on. */
        void advance(Candidate[] ranked, int eos) {
            int[][] newBeams = new int[k][];
            float[] newScores = new float[k];
            origin = new int[k];
            int b = 0;
            for (Candidate c : ranked) {
                if (b == k) break;
                if (c.token == eos) continue;
                newBeams[b] = Arrays.copyOf(beams[c.beam], beams[c.beam].length + 1);
                newBeams[b][newBeams[b].length - 1] = c.token;
                newScores[b] = c.score;
                origin[b++] = c.beam;
            }
            beams = newBeams;
            scores = newScores;
        }

        void offerFinished(Candidate c, float score) {
            int[] tokens = Arrays.copyOf(beams[c.beam], beams[c.beam].length + 1);
            tokens[tokens.length - 1] = c.token;
            int at = 0;
            while (at < finished.size() && finished.get(at).score() >= score) at++;
            if (at == k) return;
            finished.add(at, new Hypothesis(tokens, score));
            if (finished.size() > k) finished.removeLast();
        }

        /** Once every finished slot is taken: can the best running beam, scored at this length, still beat the worst? */
        boolean stillImprovable(float norm) {
            if (finished.size() == k) improvable &= scores[0] / norm > finished.getLast().score();
            return improvable;
        }
    }

    /** Indices of the `want` largest logits, in no particular order. */
    private static int[] topTokens(float[] logits, int want) {
        int[] top = new int[want];
        float[] value = new float[want];
        Arrays.fill(value, Float.NEGATIVE_INFINITY);
        int min = 0;   // slot holding the smallest kept value
        for (int t = 0; t < logits.length; t++) {
            if (logits[t] <= value[min]) continue;
            top[min] = t;
            value[min] = logits[t];
            for (int i = 0; i < want; i++) if (value[i] < value[min]) min = i;
        }
        return top;
    }
}
