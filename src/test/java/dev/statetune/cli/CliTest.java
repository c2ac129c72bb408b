package dev.statetune.cli;

import dev.statetune.Fixtures;
import dev.statetune.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.statetune.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.*;

/** The commands on the built-in model: what they print and write. */
class CliTest {
    @TempDir Path dir;

    @Test
    void infoReportsTheConfigAndParameterCount() {
        var r = run("info", "--json", "--model", Fixtures.resource("fixtures/mamba1/tiny-original").toString());
        assertEquals(0, r.code(), r.err());
        // the HF and state-spaces layouts describe the same model: 1000 padded rows, 3 layers, d 96
        assertTrue(r.out().contains("\"parameters\" : 300864"), r.out());
        assertTrue(r.out().contains("\"vocabSize\" : 1000"), r.out());
    }

    @Test
    void logitsFileHoldsBatchSeqVocab() throws Exception {
        Path out = dir.resolve("logits.safetensors");
        var r = run("logits", "--prompt-ids", "1,2,3;4,5,6", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        try (SafeTensors st = SafeTensors.open(out)) {
            assertArrayEquals(new long[] {2, 3, 1000}, st.get("logits").shape());
            assertEquals(4, st.get("input_ids").getLong(3));
        }
    }

    @Test
    void greedyGenerateIsDeterministicAndStreamsText() {
        var a = run("generate", "--prompt", "It was a dark and stormy night", "--max-new-tokens", "12");
        var b = run("generate", "--prompt", "It was a dark and stormy night", "--max-new-tokens", "12");
        assertEquals(0, a.code(), a.err());
        assertTrue(a.out().startsWith("It was a dark and stormy night"), a.out());
        assertTrue(a.out().length() > "It was a dark and stormy night".length() + 5, a.out());
        assertEquals(a.out(), b.out());
        assertTrue(a.err().contains("new tokens/s"), a.err());
    }

    @Test
    void tokenizeRoundTrips() {
        var enc = run("tokenize", "--text", "Hello world");
        assertEquals(0, enc.code(), enc.err());
        String ids = enc.out().strip().replace("[", "").replace("]", "");
        var dec = run("tokenize", "--decode", ids);
        assertEquals("Hello world", dec.out().strip());
    }
}
