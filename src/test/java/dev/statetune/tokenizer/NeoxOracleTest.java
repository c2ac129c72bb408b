package dev.statetune.tokenizer;

import dev.statetune.SharedData;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** Base of the tests that compare our GPT-NeoX tokenizer with Hugging Face's: loads both once per class. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NeoxOracleTest {
    Tokenizer ours;
    Oracle oracle;

    @BeforeAll
    void loadBoth() {
        ours = Tokenizer.load(SharedData.neoxTokenizerFile());
        oracle = new Oracle(SharedData.neoxTokenizerFile());
    }

    @AfterAll
    void closeOracle() {
        if (oracle != null) {
            oracle.close();
        }
    }
}
