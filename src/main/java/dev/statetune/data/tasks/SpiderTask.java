package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Spider text-to-SQL: {@code "Create a sql request for the following question and schema:\n###" +
 * "Question: " + q + "\\Schema: " + schema + "\n" + "###"} → the lower-cased gold SQL + eos (PAPER_NOTES
 * "Data formats"; furiosa-ai/ssm-peft dataset/spider.py). Schemas come from tables.json ({@link SpiderSchema}).
 *
 * <p>Files: dev.json; for train, train_spider.json, else Spider-Syn's train_spider_syn.json (the same
 * 7,000 questions, in its field "SpiderQuestion"). The gold SQL is lower-cased and stripped of surrounding
 * whitespace as the authors' code does; the original stays in {@link TaskExample#goldSql()}. Examples
 * longer than 1536 tokens (prompt + target + eos; the authors' code leaves the ~13 tokens of the
 * instruction out of the count) are dropped and counted in {@link TaskSplit#droppedTooLong()}; without a
 * tokenizer (scoring a file of SQL written for the whole split) none is.
 */
public final class SpiderTask implements Task {
    /** PAPER_NOTES: the longest example kept, in tokens. */
    public static final int MAX_LENGTH = 1536;
    private static final String INSTRUCTION = "Create a sql request for the following question and schema:\n###";

    SpiderTask() {}

    @Override
    public String name() {
        return "spider";
    }

    @Override
    public List<String> splits() {
        return List.of("train", "dev");
    }

    @Override
    public boolean appendsEos() {
        return true;
    }

    @Override
    public TaskSplit read(Path dir, String split, Tokenizer tok) {
        Path file = switch (split) {
            case "dev" -> dir.resolve("dev.json");
            case "train" -> Files.exists(dir.resolve("train_spider.json")) ? dir.resolve("train_spider.json") : dir.resolve("train_spider_syn.json");
            default -> throw new StatetuneException("spider has no split \"" + split + "\" (splits: train, dev)");
        };
        Path tables = dir.resolve("tables.json");
        Map<String, String> schemas = SpiderSchema.read(JsonRows.read(tables));
        List<TaskExample> out = new ArrayList<>();
        int dropped = 0;
        for (JsonRows.Row row : JsonRows.read(file)) {
            String question = row.node().has("question") ? row.text("question") : row.text("SpiderQuestion");
            String dbId = row.text("db_id"), gold = row.text("query");
            String schema = schemas.get(dbId);
            if (schema == null) throw new StatetuneException(row.where() + "db_id \"" + dbId + "\" is not in " + tables);
            TaskExample ex = TaskExample.sql(INSTRUCTION + "Question: " + question + "\\Schema: " + schema + "\n###",
                    gold.toLowerCase(Locale.ROOT).strip(), dbId, gold);
            if (tok != null && tok.encode(ex.prompt()).length + tok.encode(ex.target()).length + 1 > MAX_LENGTH) dropped++;
            else out.add(ex);
        }
        return new TaskSplit(out, dropped);
    }
}
