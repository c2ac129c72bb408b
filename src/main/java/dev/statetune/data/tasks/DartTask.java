package dev.statetune.data.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * DART RDF-triples-to-text from the official {@code dart-v1.1.1-full-<split>.json}: the prompt
 * {@code "Generate text for the following RDF triples:\n" + " | ".join(" : ".join(t)) + "###"} → a
 * reference + eos (PAPER_NOTES "Data formats"; furiosa-ai/ssm-peft dataset/dart.py). One example per
 * triple set with all its references; {@link Task#trainingExamples} makes one per reference.
 */
public final class DartTask implements Task {
    private static final String INSTRUCTION = "Generate text for the following RDF triples:\n";

    DartTask() {}

    @Override
    public String name() {
        return "dart";
    }

    @Override
    public List<String> splits() {
        return List.of("train", "dev", "test");
    }

    @Override
    public boolean appendsEos() {
        return true;
    }

    @Override
    public TaskSplit read(Path dir, String split, Tokenizer tok) {
        requireSplit(split);
        List<TaskExample> out = new ArrayList<>();
        for (JsonRows.Row row : JsonRows.read(dir.resolve("dart-v1.1.1-full-" + split + ".json"))) {
            List<String> triples = new ArrayList<>();
            for (JsonNode triple : row.array("tripleset")) triples.add(String.join(" : ", strings(row, triple)));
            List<String> references = new ArrayList<>();
            for (JsonNode annotation : row.array("annotations")) {
                JsonNode text = annotation.get("text");
                if (text == null || !text.isTextual()) throw new StatetuneException(row.where() + "an annotation without a \"text\" string");
                references.add(text.textValue());
            }
            if (triples.isEmpty()) throw new StatetuneException(row.where() + "empty \"tripleset\"");
            if (references.isEmpty()) throw new StatetuneException(row.where() + "no annotations");
            out.add(TaskExample.generation(INSTRUCTION + String.join(" | ", triples) + "###", references));
        }
        return new TaskSplit(out, 0);
    }

    private static List<String> strings(JsonRows.Row row, JsonNode triple) {
        if (!triple.isArray()) throw new StatetuneException(row.where() + "a triple that is not an array");
        List<String> parts = new ArrayList<>(triple.size());
        for (JsonNode part : triple) {
            if (!part.isTextual()) throw new StatetuneException(row.where() + "a triple with a non-string element");
            parts.add(part.textValue());
        }
        return parts;
    }
}
