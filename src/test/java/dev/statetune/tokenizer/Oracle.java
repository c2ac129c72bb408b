package dev.statetune.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Hugging Face's own Rust tokenizer (through DJL's JNI binding), the reference our tokenizer must
 * agree with. DJL truncates at 512 tokens unless told not to, so truncation and padding are off.
 */
final class Oracle implements AutoCloseable {
    private final HuggingFaceTokenizer hf;

    Oracle(Path tokenizerJson) {
        try {
            hf = HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int[] encode(String text) {
        return Arrays.stream(hf.encode(text, false, false).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    /**
     * Ids only, straight through DJL's JNI layer: skips the token strings, offsets and masks that
     * {@link #encode} has DJL build, so the benchmark measures Hugging Face plus the JNI crossing.
     */
    long[] encodeIdsOnly(String text) {
        long encoding = TokenizersLibrary.LIB.encode(hf.getHandle(), text, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    String decode(int[] ids, boolean skipSpecialTokens) {
        return hf.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    @Override
    public void close() {
        hf.close();
    }
}
