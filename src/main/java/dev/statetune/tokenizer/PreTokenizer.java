package dev.statetune.tokenizer;

/**
 * The ByteLevel pre-tokenizer's split into words: an optional leading space, then GPT-2's regex
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}, written out
 * as a scanner (no backtracking engine, one class lookup per character) that picks the same
 * alternative the regex would at each position.
 */
record PreTokenizer(boolean addPrefixSpace, boolean useRegex) {
    interface WordSink {
        void word(String text, int start, int end);
    }

    /** Splits one piece of normalized text (never spanning an added token) into words. */
    void split(String piece, WordSink sink) {
        String text = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
        if (!useRegex) {
            if (!text.isEmpty()) {
                sink.word(text, 0, text.length());
            }
            return;
        }
        int n = text.length();
        for (int i = 0; i < n; ) {
            int end = wordEnd(text, i, n);
            sink.word(text, i, end);
            i = end;
        }
    }

    /** End of the regex match starting at {@code i} (a match always exists and is non-empty). */
    private static int wordEnd(String s, int i, int n) {
        char c = s.charAt(i);
        if (c == '\'' && i + 1 < n) {
            int len = contractionLength(s, i + 1, n);
            if (len > 0) {
                return i + 1 + len;
            }
        }
        int cp = s.codePointAt(i);
        byte cls = CharClass.of(cp);
        int runStart = i;
        if (c == ' ' && i + 1 < n) {
            // " ?X+": the space joins a following letter, number or other run, never whitespace.
            int next = s.codePointAt(i + 1);
            byte nextCls = CharClass.of(next);
            if (nextCls != CharClass.SPACE) {
                runStart = i + 1;
                cp = next;
                cls = nextCls;
            }
        }
        int end = runEnd(s, runStart + Character.charCount(cp), n, cls);
        if (cls != CharClass.SPACE) {
            return end;
        }
        // "\s+(?!\S)" gives back the last whitespace character when a non-space follows, so that
        // it can prefix the next word; "\s+" takes a lone whitespace character. White_Space
        // characters are all in the BMP, so end - 1 is a character boundary.
        return end == n || end - i == 1 ? end : end - 1;
    }

    private static int runEnd(String s, int k, int n, byte cls) {
        while (k < n) {
            int cp = s.codePointAt(k);
            if (CharClass.of(cp) != cls) {
                break;
            }
            k += Character.charCount(cp);
        }
        return k;
    }

    /** Length after the apostrophe of a lowercase contraction ('s 't 're 've 'm 'll 'd), else 0. */
    private static int contractionLength(String s, int p, int n) {
        return switch (s.charAt(p)) {
            case 's', 't', 'm', 'd' -> 1;
            case 'r', 'v' -> p + 1 < n && s.charAt(p + 1) == 'e' ? 2 : 0;
            case 'l' -> p + 1 < n && s.charAt(p + 1) == 'l' ? 2 : 0;
            default -> 0;
        };
    }
}
