package dev.statetune.tokenizer;

/**
 * UTF-8 both ways, as Rust does it. Encoding: a lone surrogate, which Rust strings cannot hold,
 * becomes U+FFFD rather than the '?' of {@code String.getBytes}. Decoding: each maximal subpart
 * of an ill-formed sequence becomes one U+FFFD (Unicode's recommended practice, which Rust's
 * {@code String::from_utf8_lossy} follows and Java's decoder does not, e.g. for ED A0..BF).
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

    static String decodeLossy(byte[] bytes) {
        char[] chars = new char[bytes.length]; // never more chars than bytes
        int n = 0;
        for (int i = 0; i < bytes.length; ) {
            int b = bytes[i] & 0xFF;
            if (b < 0x80) {
                chars[n++] = (char) b;
                i++;
                continue;
            }
            int length = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 1;
            int cp = length == 2 ? b & 0x1F : length == 3 ? b & 0x0F : b & 0x07;
            int k = 1;
            while (k < length && i + k < bytes.length && continues(b, k, bytes[i + k] & 0xFF)) {
                cp = cp << 6 | (bytes[i + k] & 0x3F);
                k++;
            }
            if (length > 1 && k == length) {
                n += Character.toChars(cp, chars, n);
            } else {
                chars[n++] = (char) REPLACEMENT; // the well-formed prefix read so far, at least one byte
            }
            i += k;
        }
        return new String(chars, 0, n);
    }

    /** Whether {@code next} can be byte {@code k} of a sequence led by {@code lead} (Unicode Table 3-7). */
    private static boolean continues(int lead, int k, int next) {
        if (k == 1) {
            return switch (lead) {
                case 0xE0 -> next >= 0xA0 && next <= 0xBF;
                case 0xED -> next >= 0x80 && next <= 0x9F;
                case 0xF0 -> next >= 0x90 && next <= 0xBF;
                case 0xF4 -> next >= 0x80 && next <= 0x8F;
                default -> next >= 0x80 && next <= 0xBF;
            };
        }
        return next >= 0x80 && next <= 0xBF;
    }
}
