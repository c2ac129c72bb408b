package dev.statetune.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Encoding speed of our tokenizer against Hugging Face's (through DJL's JNI binding) on the same
 * real text in one run, single-threaded: the first 5 MB of Gutenberg lines plus every SAMSum
 * dialogue, text by text, after warm-up passes; the best of several timed passes is reported.
 * Usage: TokenizerBenchmark [shared-data-dir] (default ../shared/data).
 */
public final class TokenizerBenchmark {
    private static final long GUTENBERG_BYTES = 5_000_000;
    private static final int WARMUP_PASSES = 3;
    private static final int TIMED_PASSES = 5;

    private TokenizerBenchmark() {}

    public static void main(String[] args) throws IOException {
        Path data = Path.of(args.length > 0 ? args[0] : "../shared/data");
        Path tokenizerJson = data.resolve("tokenizer/gpt-neox-20b.json");
        List<String> texts = corpus(data);
        long bytes = texts.stream().mapToLong(t -> t.getBytes(StandardCharsets.UTF_8).length).sum();
        System.out.printf("corpus: %d texts, %.2f MB of UTF-8 (Gutenberg lines + SAMSum dialogues)%n", texts.size(), bytes / 1e6);

        Tokenizer ours = Tokenizer.load(tokenizerJson);
        try (Oracle oracle = new Oracle(tokenizerJson)) {
            List<ToIntFunction<String>> encoders = List.of(t -> ours.encode(t).length,
                    t -> oracle.encodeIdsOnly(t).length, t -> oracle.encode(t).length);
            List<String> names = List.of("statetune (Java)", "HF via DJL JNI, ids only", "HF via DJL encode()");
            int n = encoders.size();
            long[] tokens = new long[n];
            for (int pass = 0; pass < WARMUP_PASSES; pass++) {
                for (int e = 0; e < n; e++) {
                    tokens[e] = run(encoders.get(e), texts);
                }
            }
            for (int e = 1; e < n; e++) {
                if (tokens[e] != tokens[0]) {
                    throw new IllegalStateException("token counts differ: " + tokens[0] + " vs " + tokens[e]);
                }
            }
            long[] best = new long[n];
            java.util.Arrays.fill(best, Long.MAX_VALUE);
            for (int pass = 0; pass < TIMED_PASSES; pass++) {
                for (int e = 0; e < n; e++) {
                    long start = System.nanoTime();
                    run(encoders.get(e), texts);
                    best[e] = Math.min(best[e], System.nanoTime() - start);
                }
            }
            System.out.printf("%d tokens; best of %d passes after %d warm-up passes, one thread%n", tokens[0], TIMED_PASSES, WARMUP_PASSES);
            for (int e = 0; e < n; e++) {
                double seconds = best[e] / 1e9;
                System.out.printf("%-26s %7.1f ms  %6.2f MB/s  %5.2f M tokens/s  (statetune is %.2fx faster)%n", names.get(e),
                        seconds * 1e3, bytes / 1e6 / seconds, tokens[e] / 1e6 / seconds, (double) best[e] / best[0]);
            }
        }
    }

    private static long run(ToIntFunction<String> encoder, List<String> texts) {
        long tokens = 0;
        for (String text : texts) {
            tokens += encoder.applyAsInt(text);
        }
        return tokens;
    }

    private static List<String> corpus(Path data) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        long bytes = 0;
        try (BufferedReader books = Files.newBufferedReader(data.resolve("corpus/gutenberg-00.jsonl"), StandardCharsets.UTF_8)) {
            for (String book; bytes < GUTENBERG_BYTES && (book = books.readLine()) != null; ) {
                for (String line : json.readTree(book).get("text").asText().split("\n")) {
                    if (!line.isEmpty() && bytes < GUTENBERG_BYTES) {
                        texts.add(line);
                        bytes += line.getBytes(StandardCharsets.UTF_8).length;
                    }
                }
            }
        }
        for (String line : Files.readAllLines(data.resolve("samsum/validation.jsonl"), StandardCharsets.UTF_8)) {
            texts.add(json.readTree(line).get("dialogue").asText());
        }
        return texts;
    }
}
