package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;
import dev.statetune.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The GLUE tasks from their original TSV files: {@code instruction + s1 + "###" + s2 + "###"} (one
 * sentence: {@code instruction + s + "###"}) → the label id as one digit, no eos (PAPER_NOTES "Data
 * formats"). The instructions are the authors' (furiosa-ai/ssm-peft dataset/glue.py, from promptbench);
 * STS-B, which they did not run, gets one of the same pattern. That code also puts a "###" between the
 * instruction and s1; PAPER_NOTES has none, and PAPER_NOTES is followed here.
 *
 * <p>STS-B is regression: its target is the gold score rounded half up to a digit 0–5 (2.5 → "3"), so it
 * is scored like the others by one class token, while {@link TaskExample#score()} keeps the float for
 * Pearson/Spearman.
 */
public final class GlueTask implements Task {
    public static final GlueTask COLA = new GlueTask("glue/cola",
            "Review the sentence below and identify whether its grammar is Unacceptable or Acceptable. "
            + "Respond with '0' if Unacceptable or '1' if Acceptable: ",
            List.of("source", "label", "original_mark", "sentence"), "sentence", null, "label",
            Labels.DIGIT, List.of("unacceptable", "acceptable"));
    public static final GlueTask SST2 = new GlueTask("glue/sst2",
            "Read the provided excerpt and choose between negative and positive to describe its sentiment. "
            + "Respond with '0' if negative or '1' if positive: ",
            null, "sentence", null, "label", Labels.DIGIT, List.of("negative", "positive"));
    public static final GlueTask MRPC = new GlueTask("glue/mrpc",
            "Can the given sentences be considered semantically identical? "
            + "Respond with '0' if not_equivalent or '1' if equivalent: ",
            null, "#1 String", "#2 String", "Quality", Labels.DIGIT, List.of("not_equivalent", "equivalent"));
    public static final GlueTask QQP = new GlueTask("glue/qqp",
            "Can these two statements be considered equal in meaning? "
            + "Respond with '0' if not_equivalent or '1' if equivalent: ",
            null, "question1", "question2", "is_duplicate", Labels.DIGIT, List.of("not_duplicate", "duplicate"));
    public static final GlueTask STSB = new GlueTask("glue/stsb",
            "Rate how similar in meaning the given pair of sentences is. "
            + "Respond with '0' if unrelated, '1', '2', '3', '4' or '5' if equivalent: ",
            null, "sentence1", "sentence2", "score", Labels.SCORE, List.of("0", "1", "2", "3", "4", "5"));
    public static final GlueTask MNLI = new GlueTask("glue/mnli",
            "Assess the connection between the following sentences and classify it as entailment, neutral, "
            + "or contradiction. Respond with '0' if entailment, '1' if neutral or '2' if contradiction: ",
            null, "sentence1", "sentence2", "gold_label", Labels.NAMED, List.of("entailment", "neutral", "contradiction"));
    public static final GlueTask QNLI = new GlueTask("glue/qnli",
            "Consider the context and question, and indicate if the answer can be logically deduced from "
            + "the context. Respond with '0' if entailment or '1' if not_entailment: ",
            null, "question", "sentence", "label", Labels.NAMED, List.of("entailment", "not_entailment"));
    public static final GlueTask RTE = new GlueTask("glue/rte",
            "Determine if the given pair of sentences displays entailment or not_entailment. "
            + "Respond with '0' if entailment or '1' if not_entailment: ",
            null, "sentence1", "sentence2", "label", Labels.NAMED, List.of("entailment", "not_entailment"));
    public static final GlueTask WNLI = new GlueTask("glue/wnli",
            "Identify whether the given pair of sentences demonstrates entailment or not_entailment. "
            + "Respond with '0' if not_entailment or '1' if entailment: ",
            null, "sentence1", "sentence2", "label", Labels.DIGIT, List.of("not_entailment", "entailment"));

    /** All nine, in GLUE's order. */
    static final List<GlueTask> ALL = List.of(COLA, SST2, MRPC, QQP, STSB, MNLI, QNLI, RTE, WNLI);

    /** How a label cell is written: a class id, a class name (RTE, QNLI, MNLI), or an STS-B score. */
    private enum Labels { DIGIT, NAMED, SCORE }

    private static final String SEP = "###";
    private static final double MAX_SCORE = 5;

    private final String name, instruction, sentence1, sentence2, labelColumn;
    private final List<String> fixedHeader, labelNames;
    private final Labels labels;

    private GlueTask(String name, String instruction, List<String> fixedHeader, String sentence1, String sentence2,
             String labelColumn, Labels labels, List<String> labelNames) {
        this.name = name;
        this.instruction = instruction;
        this.fixedHeader = fixedHeader;
        this.sentence1 = sentence1;
        this.sentence2 = sentence2;
        this.labelColumn = labelColumn;
        this.labels = labels;
        this.labelNames = labelNames;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> splits() {
        return this == MNLI ? List.of("train", "dev_matched", "dev_mismatched") : List.of("train", "dev");
    }

    @Override
    public boolean appendsEos() {
        return false;
    }

    /** The instruction every prompt starts with. */
    public String instruction() {
        return instruction;
    }

    /** What each label id means, indexed by id (STS-B: the digits 0–5). */
    public List<String> labelNames() {
        return labelNames;
    }

    /**
     * The token of each class digit, indexed by label id: an argmax at the label position that is none
     * of these is "not a class token" (PAPER_NOTES: counted and dropped by the paper's code).
     */
    public int[] classTokenIds(Tokenizer tok) {
        int[] ids = new int[labelNames.size()];
        for (int label = 0; label < ids.length; label++) {
            int[] digit = tok.encode(Integer.toString(label));
            if (digit.length != 1)
                throw new StatetuneException(name + ": the tokenizer splits the label \"" + label + "\" into " + digit.length + " tokens");
            ids[label] = digit[0];
        }
        return ids;
    }

    @Override
    public TaskSplit read(Path dir, String split, Tokenizer tok) {
        requireSplit(split);
        Path file = dir.resolve(split + ".tsv");
        Tsv tsv = Tsv.read(file, fixedHeader);
        int s1 = tsv.column(sentence1), s2 = sentence2 == null ? -1 : tsv.column(sentence2), y = tsv.column(labelColumn);
        List<TaskExample> out = new ArrayList<>(tsv.rows.size());
        for (Tsv.Row row : tsv.rows) {
            String[] c = row.cells();
            String prompt = instruction + c[s1] + SEP + (s2 < 0 ? "" : c[s2] + SEP);
            String where = file + ":" + row.line() + ": ";
            out.add(switch (labels) {
                case DIGIT -> TaskExample.classification(prompt, digit(c[y], where));
                case NAMED -> TaskExample.classification(prompt, named(c[y], where));
                case SCORE -> {
                    double score = score(c[y], where);
                    yield TaskExample.regression(prompt, (int) Math.round(score), score);
                }
            });
        }
        return new TaskSplit(out, 0);
    }

    private int digit(String cell, String where) {
        for (int label = 0; label < labelNames.size(); label++)
            if (cell.equals(Integer.toString(label))) return label;
        throw new StatetuneException(where + "label \"" + cell + "\" is not one of 0.." + (labelNames.size() - 1));
    }

    private int named(String cell, String where) {
        int label = labelNames.indexOf(cell);
        if (label < 0) throw new StatetuneException(where + "label \"" + cell + "\" is not one of " + String.join(", ", labelNames));
        return label;
    }

    private static double score(String cell, String where) {
        double score;
        try {
            score = Double.parseDouble(cell);
        } catch (NumberFormatException e) {
            throw new StatetuneException(where + "score \"" + cell + "\" is not a number");
        }
        if (!(score >= 0 && score <= MAX_SCORE)) throw new StatetuneException(where + "score " + cell + " is outside 0..5");
        return score;
    }
}
