package dev.statetune.tokenizer;

/**
 * GPT-2's byte-to-unicode table: every byte gets a printable character, so a BPE vocabulary over
 * bytes can be stored as ordinary strings. Mirrors `bytes_to_unicode` of OpenAI's GPT-2 encoder
 * (and the ByteLevel pre-tokenizer/decoder of Hugging Face tokenizers).
 */
final class ByteLevel {
    /** Byte value (0..255) to its stand-in character. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Stand-in character to byte value, -1 where the character stands for no byte. */
    private static final int[] CHAR_TO_BYTE = new int[256 + 68];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            // Printable Latin-1 stands for itself; the rest (controls, space, soft hyphen, ...)
            // is moved past 255 in byte order.
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            char c = printable ? (char) b : (char) (256 + shifted++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    /** The byte a stand-in character encodes, or -1 if it is not one. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * The bytes a token decodes to: its stand-in characters mapped back, or, when any character is
     * not a stand-in (added tokens such as a run of spaces), the token's own UTF-8 bytes.
     */
    static byte[] decodeToken(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = byteOf(token.charAt(i));
            if (b < 0) {
                return token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
