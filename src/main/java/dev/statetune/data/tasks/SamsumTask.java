package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SAMSum dialogue summarisation: {@code dialogue + "###"} → {@code summary} + eos (PAPER_NOTES "Data
 * formats"; furiosa-ai/ssm-peft dataset/samsum.py). Reads {@code <split>.jsonl} (the hub's rows) or
 * {@code <split>.json} (the original release, a JSON array); dialogues keep their \r\n line breaks.
 */
public final class SamsumTask implements Task {
    SamsumTask() {}

    @Override
    public String name() {
        return "samsum";
    }

    @Override
    public List<String> splits() {
        return List.of("train", "validation", "test");
    }

    @Override
    public boolean appendsEos() {
        return true;
    }

    @Override
    public TaskSplit read(Path dir, String split, Tokenizer tok) {
        requireSplit(split);
        Path jsonl = dir.resolve(split + ".jsonl");
        List<TaskExample> out = new ArrayList<>();
        for (JsonRows.Row row : JsonRows.read(Files.exists(jsonl) ? jsonl : dir.resolve(split + ".json")))
            out.add(TaskExample.generation(row.text("dialogue") + "###", List.of(row.text("summary"))));
        return new TaskSplit(out, 0);
    }
}
