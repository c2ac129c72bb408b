package dev.statetune.data.tasks;

import java.util.List;

/**
 * One item of a task split as text: the prompt and target of PAPER_NOTES "Data formats", plus what
 * the task's metric needs. Fields a family does not use hold -1, NaN or null (see the factories).
 *
 * @param references every reference text (DART keeps all of a triple set's; otherwise just the target)
 * @param label      GLUE class id (STS-B: the rounded score), else -1
 * @param score      STS-B gold similarity 0–5 for Pearson/Spearman, else NaN
 * @param dbId       Spider database id, else null
 * @param goldSql    Spider gold query as written (case kept: execution compares string literals), else null
 */
public record TaskExample(String prompt, String target, List<String> references, int label, double score,
                          String dbId, String goldSql) {
    public TaskExample {
        references = List.copyOf(references);
        if (references.isEmpty()) throw new IllegalArgumentException("no references");
    }

    static TaskExample classification(String prompt, int label) {
        String digit = Integer.toString(label);
        return new TaskExample(prompt, digit, List.of(digit), label, Double.NaN, null, null);
    }

    static TaskExample regression(String prompt, int label, double score) {
        String digit = Integer.toString(label);
        return new TaskExample(prompt, digit, List.of(digit), label, score, null, null);
    }

    /** Generation with one or more references; the first is the target. */
    static TaskExample generation(String prompt, List<String> references) {
        return new TaskExample(prompt, references.getFirst(), references, -1, Double.NaN, null, null);
    }

    static TaskExample sql(String prompt, String target, String dbId, String goldSql) {
        return new TaskExample(prompt, target, List.of(target), -1, Double.NaN, dbId, goldSql);
    }

    /** The same item trained toward another of its references. */
    TaskExample withTarget(String reference) {
        return new TaskExample(prompt, reference, references, label, score, dbId, goldSql);
    }
}
