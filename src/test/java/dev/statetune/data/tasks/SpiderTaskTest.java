package dev.statetune.data.tasks;

import dev.statetune.SharedData;

import dev.statetune.data.Example;
import dev.statetune.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Spider on the real dev set: the first prompt with its whole schema string written by hand from
 * tables.json (concert_singer), the lower-cased target + eos, the 1536-token limit; and schema edge
 * cases (no primary key, composite key, several foreign keys) on a one-database tables.json.
 */
class SpiderTaskTest {
    private static final int EOS = 0;
    @TempDir Path tmp;

    @Test
    void firstDevExampleWithItsFullSchema() {
        TaskExample ex = Tasks.byName("spider").read(SharedData.path("spider"), "dev", SharedData.neox()).examples().getFirst();
        String schema = "stadium: stadium_id number ,  location text ,  name text ,  capacity number ,  highest number ,  "
                + "lowest number ,  average number ,  foreign:  ,  primary: stadium_id"
                + " | singer: singer_id number ,  name text ,  country text ,  song_name text ,  song_release_year text ,  "
                + "age number ,  is_male others ,  foreign:  ,  primary: singer_id"
                + " | concert: concert_id number ,  concert_name text ,  theme text ,  stadium_id text ,  year text ,  "
                + "foreign: stadium_id from stadium ,  primary: concert_id"
                + " | singer_in_concert: concert_id number ,  singer_id text ,  "
                + "foreign: singer_id from singer , concert_id from concert ,  primary: concert_id";
        assertEquals("Create a sql request for the following question and schema:\n###"
                + "Question: How many singers do we have?\\Schema: " + schema + "\n###", ex.prompt());
        assertEquals("select count(*) from singer", ex.target());
        assertEquals("SELECT count(*) FROM singer", ex.goldSql());
        assertEquals("concert_singer", ex.dbId());
    }

    @Test
    void devKeepsWhatFitsIn1536TokensAndAppendsEos() {
        Tokenizer tok = SharedData.neox();
        Task spider = Tasks.byName("spider");
        TaskSplit dev = spider.read(SharedData.path("spider"), "dev", tok);
        assertEquals(1_034, dev.examples().size() + dev.droppedTooLong());
        assertEquals(0, dev.droppedTooLong(), "the dev schemas are short; no example comes near 1536 tokens");
        int longest = 0;
        for (Example ex : spider.trainingExamples(dev, tok, EOS)) {
            longest = Math.max(longest, ex.length());
            assertEquals(EOS, ex.inputIds()[ex.length() - 1]);
            assertEquals(EOS, ex.labels()[ex.length() - 1]);
        }
        assertTrue(longest <= SpiderTask.MAX_LENGTH, "longest kept: " + longest);
    }

    @Test
    void trainFallsBackToSpiderSynAndItsQuestionField() {
        TaskSplit train = Tasks.byName("spider").read(SharedData.path("spider"), "train", SharedData.neox());
        // baseball_1's schema alone is longer than 1536 tokens: all 82 of its questions go
        assertEquals(82, train.droppedTooLong());
        assertEquals(0, train.examples().stream().filter(e -> e.dbId().equals("baseball_1")).count());
        assertEquals(7_000 - 82, train.examples().size());
        TaskExample ex = train.examples().getFirst();
        assertTrue(ex.prompt().startsWith("Create a sql request for the following question and schema:\n###"
                + "Question: How many heads of the departments are older than 56 ?\\Schema: department: "), ex.prompt());
        assertEquals("select count(*) from head where age  >  56", ex.target());
    }

    @Test
    void tooLongExamplesAreDroppedAndCounted() throws IOException {
        writeTables();
        String longQuestion = "why ".repeat(SpiderTask.MAX_LENGTH);
        Files.writeString(tmp.resolve("dev.json"), """
                [{"db_id": "shop", "question": "How many?", "query": "SELECT count(*) FROM item"},
                 {"db_id": "shop", "question": "%s", "query": "SELECT 1"}]
                """.formatted(longQuestion));
        TaskSplit dev = Tasks.byName("spider").read(tmp, "dev", SharedData.neox());
        assertEquals(1, dev.examples().size());
        assertEquals(1, dev.droppedTooLong());
    }

    @Test
    void schemaWithoutPrimaryKeyWithCompositeKeyAndSeveralForeignKeys() throws IOException {
        writeTables();
        Files.writeString(tmp.resolve("dev.json"), """
                [{"db_id": "shop", "question": "How many?", "query": "  SELECT count(*) FROM Item  "}]
                """);
        TaskExample ex = Tasks.byName("spider").read(tmp, "dev", SharedData.neox()).examples().getFirst();
        assertEquals("Create a sql request for the following question and schema:\n###Question: How many?\\Schema: "
                + "item: id number ,  name text ,  foreign:  ,  primary: id"
                + " | order_line: order_id number ,  item_id number ,  qty number ,  "
                + "foreign: id from item , id from log ,  primary: order_id , item_id"
                + " | log: id number ,  foreign:  ,  primary: \n###", ex.prompt());
        assertEquals("select count(*) from item", ex.target());
    }

    /** Three tables: Item (pk), Order_Line (composite pk, two foreign keys), Log (no keys). */
    private void writeTables() throws IOException {
        Files.writeString(tmp.resolve("tables.json"), """
                [{"db_id": "shop",
                  "table_names_original": ["Item", "Order_Line", "Log"],
                  "column_names_original": [[-1, "*"], [0, "ID"], [0, "Name"], [1, "Order_ID"], [1, "Item_ID"],
                                            [1, "Qty"], [2, "ID"]],
                  "column_types": ["text", "number", "text", "number", "number", "number", "number"],
                  "primary_keys": [1, [3, 4]],
                  "foreign_keys": [[4, 1], [3, 6]]}]
                """);
    }
}
