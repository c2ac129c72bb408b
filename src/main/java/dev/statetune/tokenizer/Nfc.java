package dev.statetune.tokenizer;

import java.text.Normalizer;

/**
 * The NFC normalizer of tokenizer.json. Text below U+0300 is always in NFC (no character there
 * decomposes or combines with its neighbour), which lets plain English skip the JDK normalizer.
 */
final class Nfc {
    private static final char FIRST_COMBINING = '\u0300';

    private Nfc() {}

    static String normalize(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= FIRST_COMBINING) {
                return Normalizer.normalize(text, Normalizer.Form.NFC);
            }
        }
        return text;
    }
}
