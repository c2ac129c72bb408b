package dev.statetune.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** mteval 13a tokenization, each expectation traced through its four regular expressions by hand. */
class Tokenizer13aTest {
    @ParameterizedTest(name = "[{0}] -> [{1}]")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "Hello, world!|Hello , world !",
            "It wasn't surprising.|It wasn't surprising .",  // apostrophe kept
            "3.14 and 1,000 people|3.14 and 1,000 people",   // '.' and ',' between digits kept
            "e.g. this|e . g . this",
            "well-known 5-3 result|well-known 5 - 3 result", // '-' split only after a digit
            "$5 (approx.) 100%|$ 5 ( approx . ) 100 %",
            "a/b@c:d;e|a / b @ c : d ; e",
            "&quot;hi&quot; &amp; &lt;b&gt;|\" hi \" & < b >",
            "  spaced \t out  |spaced out",
            "café, naïve.|café , naïve .",                   // non-ASCII letters untouched
            "`a <skipped> b`|a b",
    })
    void tokenizes(String line, String expected) {
        assertEquals(expected, Tokenizer13a.tokenize(line));
    }
}
