package dev.statetune.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The added tokens of a tokenizer.json ("<|endoftext|>", runs of spaces, ...) and how they cut
 * text before the model sees it, after Hugging Face's AddedVocabulary: tokens with
 * {@code normalized: false} are found in the raw text, the others in the normalized pieces
 * between those; {@code single_word}, {@code lstrip} and {@code rstrip} adjust each match.
 */
final class AddedTokens {
    /** One entry of "added_tokens", as written in the file. */
    record Spec(String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized, boolean special) {}

    /** A spec and the id Hugging Face gives it. */
    record Token(Spec spec, int id) {}

    /** Cuts text at the matches of one set of tokens; patterns are the contents as matched. */
    private record Matcher(TokenTrie trie, List<Token> tokens, List<String> patterns) {}

    private final Map<String, Token> byContent;
    private final Matcher raw;
    private final Matcher normalized;

    /**
     * Ids are assigned as Hugging Face does on loading (the "id" fields of the file only produce a
     * warning there): a token already in the model's vocabulary keeps that id, the others are
     * numbered from the model's vocabulary size on.
     *
     * @param normalizer applied to the content of {@code normalized: true} tokens, so that they
     *     match the normalized text
     */
    AddedTokens(List<Spec> specs, Map<String, Integer> modelVocab, UnaryOperator<String> normalizer) {
        byContent = new LinkedHashMap<>();
        int maxId = -1;
        for (Spec spec : specs) {
            if (spec.content().isEmpty()) {
                continue;
            }
            Token previous = byContent.get(spec.content());
            Integer modelId = modelVocab.get(spec.content());
            int id;
            if (previous != null) {
                id = previous.id();
            } else if (modelId != null) {
                id = modelId;
            } else {
                id = maxId >= modelVocab.size() || modelVocab.isEmpty() ? maxId + 1 : modelVocab.size();
            }
            // A repeated content keeps its id and takes the later flags; once special, always special.
            boolean special = spec.special() || (previous != null && previous.spec().special());
            Spec merged = new Spec(spec.content(), spec.singleWord(), spec.lstrip(), spec.rstrip(), spec.normalized(), special);
            byContent.put(spec.content(), new Token(merged, id));
            maxId = Math.max(maxId, id);
        }
        List<Token> rawTokens = new ArrayList<>();
        List<Token> normalizedTokens = new ArrayList<>();
        for (Token token : byContent.values()) {
            (token.spec().normalized() ? normalizedTokens : rawTokens).add(token);
        }
        raw = matcher(rawTokens, UnaryOperator.identity());
        normalized = matcher(normalizedTokens, normalizer);
    }

    private static Matcher matcher(List<Token> tokens, UnaryOperator<String> normalizer) {
        List<String> patterns = tokens.stream().map(t -> normalizer.apply(t.spec().content())).toList();
        return new Matcher(new TokenTrie(patterns), tokens, patterns);
    }

    List<Token> tokens() {
        return List.copyOf(byContent.values());
    }

    Token get(String content) {
        return byContent.get(content);
    }

    /** Cuts raw text at the {@code normalized: false} tokens; see {@link #split(String, Matcher)}. */
    int[] splitRaw(String text) {
        return split(text, raw);
    }

    /** Cuts normalized text at the {@code normalized: true} tokens. */
    int[] splitNormalized(String text) {
        return split(text, normalized);
    }

    /**
     * Pieces of {@code text} as triples (token id or -1 for plain text, start, end); empty pieces
     * are left out. Like Hugging Face's {@code find_matches}, the search resumes after each raw
     * match, so a token whose rstrip swallowed the start of the next match yields overlapping
     * pieces there too.
     */
    private static int[] split(String text, Matcher matcher) {
        IntList pieces = new IntList(6);
        int pieceStart = 0;
        for (int from = 0; ; ) {
            long found = matcher.trie().find(text, from);
            if (found == TokenTrie.NO_MATCH) {
                break;
            }
            Token token = matcher.tokens().get((int) found);
            int start = (int) (found >>> 32);
            int stop = start + matcher.patterns().get((int) found).length();
            from = stop;
            Spec spec = token.spec();
            if (spec.singleWord() && (wordCharBefore(text, start) || wordCharAt(text, stop))) {
                continue;
            }
            if (spec.lstrip()) {
                start = Math.max(whiteSpaceRunStart(text, start), pieceStart);
            }
            if (spec.rstrip()) {
                stop = whiteSpaceRunEnd(text, stop);
            }
            if (pieceStart < start) {
                add(pieces, -1, pieceStart, start);
            }
            add(pieces, token.id(), start, stop);
            pieceStart = stop;
        }
        if (pieceStart < text.length()) {
            add(pieces, -1, pieceStart, text.length());
        }
        return pieces.toArray();
    }

    private static void add(IntList pieces, int id, int start, int end) {
        pieces.add(id);
        pieces.add(start);
        pieces.add(end);
    }

    private static boolean wordCharBefore(String text, int i) {
        return i > 0 && CharClass.isWordChar(text.codePointBefore(i));
    }

    private static boolean wordCharAt(String text, int i) {
        return i < text.length() && CharClass.isWordChar(text.codePointAt(i));
    }

    /** Start of the run of White_Space characters that ends at {@code end}. */
    private static int whiteSpaceRunStart(String text, int end) {
        int i = end;
        while (i > 0 && CharClass.isWhiteSpace(text.charAt(i - 1))) {
            i--;
        }
        return i;
    }

    /** End of the run of White_Space characters that starts at {@code start}. */
    private static int whiteSpaceRunEnd(String text, int start) {
        int i = start;
        while (i < text.length() && CharClass.isWhiteSpace(text.charAt(i))) {
            i++;
        }
        return i;
    }
}
