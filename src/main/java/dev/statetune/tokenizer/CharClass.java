package dev.statetune.tokenizer;

/**
 * The character classes of the GPT-2 split regex and of the added-token rules, as Hugging Face's
 * Rust code sees them: {@code \s} is the White_Space property (Oniguruma and the regex crate
 * alike, not Java's ASCII default), {@code \p{L}}/{@code \p{N}} are general categories, and
 * {@code \w} is the UTS #18 word class of the regex crate.
 */
final class CharClass {
    static final byte OTHER = 0;
    static final byte LETTER = 1;
    static final byte NUMBER = 2;
    static final byte SPACE = 3;

    /** Class of every BMP code point: the split loop looks up each character once. */
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int cp = 0; cp < BMP.length; cp++) {
            BMP[cp] = compute(cp);
        }
    }

    private CharClass() {}

    static byte of(int cp) {
        return cp < BMP.length ? BMP[cp] : compute(cp);
    }

    /** Unicode White_Space, unchanged since Unicode 6.3 (when U+180E left it). */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** UTS #18 {@code \w}: alphabetic, marks, decimal digits, connector punctuation, joiners. */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp)) {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK,
                 Character.DECIMAL_DIGIT_NUMBER, Character.CONNECTOR_PUNCTUATION -> true;
            default -> cp == 0x200C || cp == 0x200D;
        };
    }

    private static byte compute(int cp) {
        if (isWhiteSpace(cp)) {
            return SPACE;
        }
        if (Character.isLetter(cp)) {
            return LETTER;
        }
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            default -> OTHER;
        };
    }
}
