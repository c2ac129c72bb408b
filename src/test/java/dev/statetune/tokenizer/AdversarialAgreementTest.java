package dev.statetune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * GPT-NeoX tokenizer against Hugging Face's on text built to break it: Unicode that NFC changes,
 * emoji sequences, every kind of whitespace run, added tokens glued to words and spaces,
 * contractions, every BMP code point in context, seeded random mixtures, and decoding of
 * arbitrary id sequences (cut UTF-8 included).
 */
class AdversarialAgreementTest extends NeoxOracleTest {
    private static final String EOT = "<|endoftext|>";
    private static final String PAD = "<|padding|>";

    @Test
    void handPickedStrings() {
        List<String> texts = List.of(
                "", " ", "  ", "a", "Hello world", "Hello  world", "Hello   world", " leading", "trailing ", "   ",
                // Unicode: CJK, accents NFC composes, Hangul jamo NFC composes, RTL, joiners, marks
                "日本語のテキストと中文文本", "cafe\u0301 nai\u0308ve", "e\u0301\u0301 o\u0302\u0323", "\u1100\u1161\u11A8",
                "Å Å Å", "ﬁ ﬀ ℌ ①", "עברית ועוד מילים", "العربية نص", "a\u200Db\u200Cc\u200Bd", "\uFEFFbom",
                "हिन्दी भाषा", "ภาษาไทย", "Ελληνικά και Кириллица", "Z\u0351\u0368\u0306algo",
                // emoji: ZWJ family, flags, skin tones, keycaps, variation selectors
                "👨‍👩‍👧‍👦 family", "🇫🇷🇩🇪 flags", "👍🏽👍🏿 thumbs", "1️⃣ #️⃣", "❤️ ☺︎", "🏳️‍🌈", "𝕳𝖊𝖑𝖑𝖔 𝟙𝟚𝟛",
                // whitespace runs of every kind
                "a\tb\t\tc", "a\nb\n\nc\n\n\n", "line\r\nline\r\n\r\n", "a\u00A0b\u00A0\u00A0c", "a\u3000b\u3000\u3000c",
                "a\u2003\u2009b", "x \u00A0 y", " \n \n ", "\t \t ", "a" + " ".repeat(30) + "b", "\n".repeat(40),
                " ".repeat(24) + "x", " ".repeat(25) + "x", " ".repeat(49), "\u0085a\u0085\u0085b", "a\u001Fb\u001C\u001Cc",
                "a\u180Eb", "a\u2028b\u2029c", "a\u202F\u205Fb",
                // added tokens inside text, glued to words and whitespace
                EOT, PAD, EOT + EOT, "a" + EOT + "b", " " + EOT + " ", "  " + EOT + "  x", "word" + EOT, EOT + "word",
                "\n" + EOT + "\n", "<|endoftext|", "<|endoftext|>>", "<<|endoftext|>", "<|padding|><|endoftext|>",
                "<|endo" + "ftext|>", "x <|padding|>y", "<|endoftext|>  <|padding|>   ",
                // contractions
                "I'm", "I'M", "DON'T", "don't", "we'll've", "they're", "'s", "''s", "' s", "it 's", "y'all", "rock'n'roll",
                "She'd've", "'", "''", "'''", "’s curly",
                // numbers and punctuation
                "123456789", "3.14159", "1,000,000", "-42", "v1.2.3", "٣٤٥ ۶۷", "Ⅻ ⅷ", "½ ²³", "...!!!???", "(a)[b]{c}",
                "$100 €50 £3", "a--b__c", "https://example.com/a?b=c&d=e#f", "C:\\path\\to", "\"quoted\"",
                // very long words
                "a".repeat(10_000), "ab".repeat(3_000), "x" + "0123456789".repeat(500), "é".repeat(2_000),
                "🙂".repeat(1_000), "supercalifragilisticexpialidocious".repeat(50));
        Agreement agreement = new Agreement(ours, oracle);
        for (int i = 0; i < texts.size(); i++) {
            agreement.check("hand-picked #" + i, texts.get(i));
        }
        agreement.assertNone("hand-picked strings");
    }

    /** Each BMP code point (surrogates aside) beside letters, digits, spaces and itself. */
    @Test
    void everyBmpCodePointInContext() {
        Agreement agreement = new Agreement(ours, oracle);
        for (int cp = 0; cp < 0x10000; cp++) {
            if (Character.isSurrogate((char) cp)) {
                continue;
            }
            String c = Character.toString(cp);
            agreement.check(String.format("U+%04X", cp), "a" + c + "b " + c + c + " 1" + c + "\n" + c + " " + c + "'s");
        }
        System.out.println("BMP code points: " + agreement.compared() + " texts compared with Hugging Face");
        agreement.assertNone("BMP code points in context");
    }

    /** Seeded random strings over an alphabet of the characters that matter to the pipeline. */
    @Test
    void randomMixtures() {
        String[] pieces = {"a", "Z", "é", "e\u0301", "ß", "日", "ж", "1", "٣", "½", " ", " ", " ", "  ", "\t", "\n", "\r\n",
                "\u00A0", "\u3000", "\u2009", "'", "'s", "'ll", "’", ".", ",", "!", "-", "_", "<", "|", ">", EOT, PAD,
                "😀", "👩‍💻", "🇯🇵", "\u200D", "\u0301", "\uFEFF", "$", "©"};
        Random random = new Random(20240531);
        Agreement agreement = new Agreement(ours, oracle);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(40);
            for (int k = 0; k < length; k++) {
                text.append(pieces[random.nextInt(pieces.length)]);
            }
            agreement.check("random #" + i, text.toString());
        }
        agreement.assertNone("random mixtures");
    }

    /** Random ids, special tokens and whitespace tokens among them, decoded with and without skipping. */
    @Test
    void decodeOfArbitraryIdSequences() {
        Random random = new Random(7);
        int vocabSize = ours.vocabSize();
        for (int i = 0; i < 5_000; i++) {
            int[] ids = new int[random.nextInt(12)];
            for (int k = 0; k < ids.length; k++) {
                // Low ids include the special tokens and the single-byte tokens that cut UTF-8.
                ids[k] = random.nextBoolean() ? random.nextInt(300) : random.nextInt(vocabSize);
            }
            for (boolean skip : new boolean[] {false, true}) {
                assertEquals(oracle.decode(ids, skip), ours.decode(ids, skip),
                        () -> "decode(" + java.util.Arrays.toString(ids) + ", skip=" + skip + ")");
            }
        }
    }

    /**
     * Java strings can hold lone surrogates, Rust strings cannot; DJL turns one into three U+FFFD
     * (a JNI artefact), we into one, as String.toWellFormed would.
     */
    @Test
    void loneSurrogatesEncodeAsReplacementCharacter() {
        assertArrayEquals(oracle.encode("a\uFFFDb\uFFFD"), ours.encode("a\uD800b\uDFFF"));
        assertArrayEquals(oracle.encode("\uFFFD\uD83D\uDE00"), ours.encode("\uDE00\uD83D\uDE00"));
    }

    /** Supplementary code points from several planes, including unassigned ones. */
    @Test
    void supplementaryCodePoints() {
        List<String> texts = new ArrayList<>();
        for (int cp = 0x10000; cp < 0x110000; cp += 97) {
            String c = Character.toString(cp);
            texts.add("a" + c + "b " + c + c + " 1" + c);
        }
        Agreement agreement = new Agreement(ours, oracle);
        for (String text : texts) {
            agreement.check(String.format("U+%06X", text.codePointAt(1)), text);
        }
        agreement.assertNone("supplementary code points");
    }
}
