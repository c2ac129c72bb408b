package dev.statetune.cli;

import dev.statetune.StatetuneException;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.model.LanguageModel;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** `statetune logits`: the (batch, seq, vocab) float32 logits of given ids, as safetensors, for parity checks. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Write the float32 logits (batch, seq, vocab) of token ids to a safetensors file (tensor 'logits').")
final class LogitsCommand implements Callable<Integer> {
    @Mixin ModelOptions model;
    @Mixin AdapterOption adapter;

    @Option(names = "--prompt-ids", required = true, paramLabel = "IDS",
            description = "sequences of equal length, ids comma-separated, sequences separated by ';' (e.g. \"1,2,3;4,5,6\")")
    String promptIds;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "output .safetensors file")
    Path out;

    @Override
    public Integer call() {
        int[][] ids = parse(promptIds);
        try (LanguageModel lm = adapter.apply(model.load())) {
            Tensor logits = lm.forward(ids, lm.newState(ids.length));
            int b = ids.length, l = ids[0].length;
            int[] flat = new int[b * l];
            for (int s = 0; s < b; s++) System.arraycopy(ids[s], 0, flat, s * l, l);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("logits", new Tensor(logits.data(), DType.F32, b, l, lm.vocabSize()));
            tensors.put("input_ids", new Tensor(MemorySegment.ofArray(flat), DType.I32, b, l));
            SafeTensorsWriter.write(out, tensors, Map.of("format", "pt", "producer", "statetune"));
            System.out.printf("wrote logits (%d, %d, %d) to %s%n", b, l, lm.vocabSize(), out);
        }
        return 0;
    }

    static int[][] parse(String spec) {
        String[] seqs = spec.split(";");
        int[][] ids = new int[seqs.length][];
        for (int s = 0; s < seqs.length; s++) {
            String[] parts = seqs[s].trim().split(",");
            ids[s] = new int[parts.length];
            for (int t = 0; t < parts.length; t++) {
                try {
                    ids[s][t] = Integer.parseInt(parts[t].trim());
                } catch (NumberFormatException e) {
                    throw new StatetuneException("--prompt-ids: '" + parts[t].trim() + "' in sequence " + (s + 1) + " is not an integer");
                }
            }
            if (ids[s].length != ids[0].length)
                throw new StatetuneException("--prompt-ids: sequence " + (s + 1) + " has " + ids[s].length
                        + " ids, sequence 1 has " + ids[0].length + " (all must have the same length)");
        }
        return ids;
    }
}
