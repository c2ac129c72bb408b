package dev.statetune.cli;

import dev.statetune.StatetuneException;
import dev.statetune.generate.BeamSearch;
import dev.statetune.generate.Generator;
import dev.statetune.generate.Sampler;
import dev.statetune.model.LanguageModel;
import dev.statetune.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** `statetune generate`: stream a continuation of a prompt (greedy at temperature 0, else sampled), or beam search. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt, streaming the text as it is produced; stops at eos.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin AdapterOption adapter;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the one in the model directory)")
    Path tokenizer;

    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "prompt text") String text;
        @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",", description = "prompt token ids, comma-separated") int[] ids;
    }

    @ArgGroup(exclusive = true) Prompt prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "default: ${DEFAULT-VALUE}") int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE})") float temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "keep the k most likely tokens (0 = all)") int topK;
    @Option(names = "--top-p", defaultValue = "1", description = "nucleus mass to sample from (default: ${DEFAULT-VALUE})") float topP;
    @Option(names = "--seed", defaultValue = "42", description = "sampling seed (default: ${DEFAULT-VALUE})") long seed;
    @Option(names = "--ignore-eos", description = "keep generating after eos") boolean ignoreEos;
    @Option(names = "--num-beams", defaultValue = "1", description = "beam search with this many beams (prints the best text at the end; "
            + "the paper decodes with 5); 1 = stream greedy or sampled tokens (default: ${DEFAULT-VALUE})") int numBeams;
    @Option(names = "--length-penalty", defaultValue = "1", description = "with --num-beams: score = log-prob sum / length^this (default: ${DEFAULT-VALUE})")
    double lengthPenalty;

    static final String DEFAULT_PROMPT = "The old man looked at the sea and";

    @Override
    public Integer call() {
        if (maxNewTokens < 0) throw new StatetuneException("--max-new-tokens must be ≥ 0");
        if (temperature < 0) throw new StatetuneException("--temperature must be ≥ 0");
        if (topP <= 0 || topP > 1) throw new StatetuneException("--top-p must be in (0, 1]");
        if (numBeams < 1) throw new StatetuneException("--num-beams must be ≥ 1");
        Tokenizer tok = loadTokenizer();
        int[] ids = prompt != null && prompt.ids != null ? prompt.ids : null;
        if (ids == null) {
            if (tok == null) throw new StatetuneException("no tokenizer: pass --tokenizer FILE or --prompt-ids");
            ids = tok.encode(prompt != null && prompt.text != null ? prompt.text : DEFAULT_PROMPT);
        }
        if (ids.length == 0) throw new StatetuneException("the prompt is empty");
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LanguageModel lm = adapter.apply(model.load())) {
            lm.checkTokenIds(ids);
            System.err.println("model: " + model.describe() + "; " + lm.backend().name());
            TextStream stream = new TextStream(tok, out);
            if (tok != null) out.print(tok.decode(ids));
            long start = System.nanoTime();
            int[] generated;
            if (numBeams > 1) {
                if (maxNewTokens == 0) throw new StatetuneException("--max-new-tokens must be ≥ 1 with --num-beams");
                generated = BeamSearch.search(lm, List.of(ids), new BeamSearch.Options(numBeams, lengthPenalty, maxNewTokens,
                        ignoreEos ? -1 : lm.eosTokenId())).getFirst().tokens();
                for (int id : generated) stream.accept(id);
            } else {
                generated = new Generator(lm).generate(ids, maxNewTokens, new Sampler(temperature, topK, topP, seed), !ignoreEos, stream::accept);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.println();
            System.err.printf("%d prompt + %d new tokens in %.2f s (%.1f new tokens/s, prefill included)%n",
                    ids.length, generated.length, seconds, generated.length / seconds);
        }
        return 0;
    }

    private Tokenizer loadTokenizer() {
        if (tokenizer != null) return Tokenizer.load(tokenizer);
        Path inModel = model.modelDir().resolve("tokenizer.json");
        return Files.exists(inModel) ? Tokenizer.load(inModel) : null;
    }

    /** Prints text as tokens arrive; holds back a partial UTF-8 character until its last byte comes. */
    private static final class TextStream {
        private final Tokenizer tok;
        private final PrintStream out;
        private final List<Integer> ids = new ArrayList<>();
        private int printed;

        TextStream(Tokenizer tok, PrintStream out) {
            this.tok = tok;
            this.out = out;
        }

        void accept(int id) {
            if (tok == null) {
                out.print(ids.isEmpty() ? id : "," + id);
                ids.add(id);
                return;
            }
            ids.add(id);
            String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            if (text.endsWith("\uFFFD")) return;
            out.print(text.substring(Math.min(printed, text.length())));
            printed = text.length();
        }
    }
}
