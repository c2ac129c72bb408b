package dev.statetune.eval;

import dev.statetune.SharedData;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ROUGE and BLEU on the 818 real SAMSum validation summaries: identity gives 100, a summary against its dialogue is partial. */
class SamsumMetricsTest {
    private static final List<String> summaries = new ArrayList<>();
    private static final List<String> dialogues = new ArrayList<>();

    /** Per test rather than in @BeforeAll, so that each test reports itself skipped when the data is absent. */
    @BeforeEach
    void load() throws IOException {
        Path file = SharedData.path("samsum/validation.jsonl");
        if (!summaries.isEmpty()) return;
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            JsonNode row = json.readTree(line);
            summaries.add(row.get("summary").asText());
            dialogues.add(row.get("dialogue").asText());
        }
        assertEquals(818, summaries.size());
    }

    @Test
    void everySummaryAgainstItselfIsHundred() {
        for (boolean stem : new boolean[] {false, true}) {
            Rouge.Corpus c = new Rouge(stem).corpus(summaries, summaries);
            assertEquals(100, c.rouge1(), 1e-9, "rouge1, stemmer " + stem);
            assertEquals(100, c.rouge2(), 1e-9, "rouge2, stemmer " + stem);
            assertEquals(100, c.rougeL(), 1e-9, "rougeL, stemmer " + stem);
            assertEquals(100, c.rougeLsum(), 1e-9, "rougeLsum, stemmer " + stem);
        }
    }

    @Test
    void summaryAgainstDialogueIsPartial() {
        Rouge rouge = new Rouge(true);
        for (int i = 0; i < summaries.size(); i++) {
            // A summary names the speakers and reuses some words, never all of them in the same order.
            Rouge.Scores s = rouge.score(dialogues.get(i), summaries.get(i));
            for (Rouge.Score score : List.of(s.rouge1(), s.rougeL(), s.rougeLsum())) {
                assertTrue(score.fmeasure() > 0 && score.fmeasure() < 1, "example " + i + ": " + s);
            }
        }
        Rouge.Corpus c = rouge.corpus(dialogues, summaries);
        for (double v : new double[] {c.rouge1(), c.rouge2(), c.rougeL(), c.rougeLsum()}) {
            assertTrue(v > 0 && v < 100, c.toString());
        }
        assertTrue(c.rouge1() > c.rouge2() && c.rouge1() >= c.rougeL(), c.toString());
    }

    @Test
    void bleuOfTheSummariesIs100AgainstThemselvesAndPartialAgainstTheDialogues() {
        assertEquals(100, Bleu.corpus(summaries, List.of(summaries)).score(), 1e-9);
        Bleu.Result r = Bleu.corpus(summaries, List.of(dialogues));
        assertTrue(r.score() > 0 && r.score() < 100, "BLEU " + r.score());
        // Dialogues are longer than their summaries, so the brevity penalty bites.
        assertTrue(r.brevityPenalty() < 1, "BP " + r.brevityPenalty());
    }

    @Test
    void invariantsOnRealPairs() {
        Rouge rouge = new Rouge(true);
        for (int i = 0; i < summaries.size(); i++) {
            String flatDialogue = dialogues.get(i).replace('\n', ' ');
            Rouge.Scores s = rouge.score(flatDialogue, summaries.get(i));
            // One sentence on each side: the union LCS is the LCS, and no token is spent twice.
            assertEquals(s.rougeL(), s.rougeLsum(), "example " + i);
            // Swapping reference and prediction swaps precision and recall.
            Rouge.Scores swapped = rouge.score(summaries.get(i), flatDialogue);
            assertEquals(s.rouge2().precision(), swapped.rouge2().recall(), 1e-15, "example " + i);
            assertEquals(s.rougeL().fmeasure(), swapped.rougeL().fmeasure(), 1e-15, "example " + i);
        }
    }
}
