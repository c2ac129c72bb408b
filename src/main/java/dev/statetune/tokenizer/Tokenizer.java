package dev.statetune.tokenizer;

import dev.statetune.StatetuneException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face tokenizer.json with a byte-level BPE model (GPT-2, GPT-NeoX and the Mamba
 * checkpoints that use it) in plain Java, giving the ids of the Rust {@code tokenizers} library:
 * added tokens are cut out first, the rest is normalized, split into words, mapped to bytes and
 * merged. Safe for concurrent use.
 */
public final class Tokenizer {
    private final String source;
    private final Map<String, Integer> modelVocab;
    private final Bpe bpe;
    private final AddedTokens addedTokens;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizer preTokenizer;
    private final String[] tokens; // id -> token, null where no token has that id
    private final byte[][] tokenBytes; // id -> the bytes it decodes to
    private final boolean[] special; // id -> dropped by decode(ids, true)
    private final int vocabSize;

    Tokenizer(String source, Map<String, Integer> modelVocab, Bpe bpe, AddedTokens addedTokens,
              UnaryOperator<String> normalizer, PreTokenizer preTokenizer) {
        this.source = source;
        this.modelVocab = modelVocab;
        this.bpe = bpe;
        this.addedTokens = addedTokens;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        int maxId = modelVocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        for (AddedTokens.Token t : addedTokens.tokens()) {
            maxId = Math.max(maxId, t.id());
        }
        tokens = new String[maxId + 1];
        modelVocab.forEach((token, id) -> tokens[id] = token);
        int added = 0;
        for (AddedTokens.Token t : addedTokens.tokens()) {
            tokens[t.id()] = t.spec().content(); // an added token shadows the model's token of that id
            added += modelVocab.containsKey(t.spec().content()) ? 0 : 1;
        }
        vocabSize = modelVocab.size() + added;
        tokenBytes = new byte[tokens.length][];
        special = new boolean[tokens.length];
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                tokenBytes[id] = ByteLevel.decodeToken(tokens[id]);
                AddedTokens.Token t = addedTokens.get(tokens[id]);
                special[id] = t != null && t.spec().special();
            }
        }
    }

    /**
     * Reads a tokenizer.json.
     *
     * @throws StatetuneException naming the file when it cannot be read, is not valid JSON, or
     *     describes a tokenizer this class does not implement
     */
    public static Tokenizer load(Path tokenizerJson) {
        return TokenizerFile.load(tokenizerJson);
    }

    /** Reads a tokenizer.json from a stream (a classpath resource); {@code source} names it in errors. */
    public static Tokenizer read(InputStream tokenizerJson, String source) {
        return TokenizerFile.read(tokenizerJson, source);
    }

    /** The ids of {@code text}, without special tokens: HF {@code encode(text, add_special_tokens=False)}. */
    public int[] encode(String text) {
        IntList ids = new IntList(text.length() / 4);
        PreTokenizer.WordSink toIds = (word, start, end) -> bpe.encodeWord(word, start, end, ids);
        int[] raw = addedTokens.splitRaw(text);
        for (int r = 0; r < raw.length; r += 3) {
            if (raw[r] >= 0) {
                ids.add(raw[r]);
                continue;
            }
            String normalized = normalizer.apply(text.substring(raw[r + 1], raw[r + 2]));
            int[] pieces = addedTokens.splitNormalized(normalized);
            for (int p = 0; p < pieces.length; p += 3) {
                if (pieces[p] >= 0) {
                    ids.add(pieces[p]);
                } else {
                    preTokenizer.split(normalized.substring(pieces[p + 1], pieces[p + 2]), toIds);
                }
            }
        }
        return ids.toArray();
    }

    /** The text of {@code ids}, special tokens included: HF {@code decode(ids, skip_special_tokens=False)}. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of {@code ids}: the bytes of all tokens joined, with invalid UTF-8 replaced by
     * U+FFFD (a sequence cut inside a character, as when decoding a prefix of a generation).
     *
     * @throws StatetuneException for an id that no token has
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        int length = 0;
        for (int id : ids) {
            checked(id);
            if (!(skipSpecialTokens && special[id])) {
                length += tokenBytes[id].length;
            }
        }
        byte[] bytes = new byte[length];
        int k = 0;
        for (int id : ids) {
            if (!(skipSpecialTokens && special[id])) {
                System.arraycopy(tokenBytes[id], 0, bytes, k, tokenBytes[id].length);
                k += tokenBytes[id].length;
            }
        }
        return Utf8.decodeLossy(bytes);
    }

    /** Model vocabulary plus added tokens: HF {@code get_vocab_size(with_added_tokens=True)}. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token (an added token, or a model token in its byte-level spelling). */
    public OptionalInt tokenId(String token) {
        AddedTokens.Token added = addedTokens.get(token);
        if (added != null) {
            return OptionalInt.of(added.id());
        }
        Integer id = modelVocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The token with this id, as spelled in tokenizer.json.
     *
     * @throws StatetuneException for an id that no token has
     */
    public String token(int id) {
        return tokens[checked(id)];
    }

    private int checked(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new StatetuneException("token id " + id + " is outside the vocabulary (0.." + (tokens.length - 1) + ") of " + source);
        }
        if (tokens[id] == null) {
            throw new StatetuneException("token id " + id + " has no token in " + source);
        }
        return id;
    }
}
