package dev.statetune.tokenizer;

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
        ours = Tokenizer.load(SharedData.neoxTokenizer());
        oracle = new Oracle(SharedData.neoxTokenizer());
    }

    @AfterAll
    void closeOracle() {
        if (oracle != null) {
            oracle.close();
        }
    }
}
