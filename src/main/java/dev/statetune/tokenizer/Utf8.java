package dev.statetune.tokenizer;

/**
 * UTF-8 encoding of a slice of a Java string. A lone surrogate, which Rust strings cannot hold,
 * becomes U+FFFD (as String.toWellFormed would make it) rather than the '?' that
 * {@code String.getBytes} writes.
 */
final class Utf8 {
    private static final int REPLACEMENT = 0xFFFD;

    private Utf8() {}

    static byte[] encode(String s, int start, int end) {
        byte[] out = new byte[length(s, start, end)];
        int k = 0;
        for (int i = start; i < end; ) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[k++] = (byte) c;
                i++;
                continue;
            }
            int cp = codePoint(s, i, end);
            i += Character.charCount(cp);
            if (cp < 0x800) {
                out[k++] = (byte) (0xC0 | cp >> 6);
            } else if (cp < 0x10000) {
                out[k++] = (byte) (0xE0 | cp >> 12);
                out[k++] = (byte) (0x80 | (cp >> 6 & 0x3F));
            } else {
                out[k++] = (byte) (0xF0 | cp >> 18);
                out[k++] = (byte) (0x80 | (cp >> 12 & 0x3F));
                out[k++] = (byte) (0x80 | (cp >> 6 & 0x3F));
            }
            out[k++] = (byte) (0x80 | (cp & 0x3F));
        }
        return out;
    }

    private static int length(String s, int start, int end) {
        int length = 0;
        for (int i = start; i < end; ) {
            int cp = codePoint(s, i, end);
            i += Character.charCount(cp);
            length += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        }
        return length;
    }

    /** The code point at {@code i}, with a lone surrogate read as U+FFFD (one char long). */
    private static int codePoint(String s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
            return Character.toCodePoint(c, s.charAt(i + 1));
        }
        return Character.isSurrogate(c) ? REPLACEMENT : c;
    }
}
