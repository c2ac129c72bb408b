package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.ModelShapes;
import dev.statetune.peft.Method;
import dev.statetune.peft.MethodOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** `statetune params`: what every method trains on a model, in parameters and % of the base. */
@Command(name = "params", mixinStandardHelpOptions = true,
        description = "Trainable parameters of every fine-tuning method on a model (count and %% of the base).")
final class ParamsCommand implements Callable<Integer> {
    @Mixin ModelDirOption model;
    @Mixin MethodFlags flags;

    @Option(names = "--size", description = "a published Mamba shape instead of --model: 130m, 370m, 790m, 1.4b, 2.8b")
    String size;

    @Option(names = "--json", description = "print JSON instead of a table") boolean json;

    @Override
    public Integer call() throws Exception {
        MambaConfig cfg;
        String what;
        if (size != null) {
            cfg = ModelShapes.config(size);
            what = "mamba-" + size + " shape";
        } else {
            try (Checkpoint ckpt = Checkpoint.open(model.modelDir())) { cfg = ckpt.config(); }
            what = model.describe();
        }
        MethodOptions options = flags.options(false);
        long base = cfg.parameterCount();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Method m : Method.values()) {
            long count = m.parameterCount(cfg, options);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("method", m.cliName);
            row.put("trainable_parameters", count);
            row.put("percent_of_base", 100.0 * count / base);
            rows.add(row);
        }
        if (json) {
            System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(
                    Map.of("model", what, "base_parameters", base, "methods", rows)));
            return 0;
        }
        System.out.printf("%s: %,d parameters%n", what, base);
        System.out.printf("%-16s %14s %9s%n", "method", "trainable", "% base");
        for (Map<String, Object> r : rows)
            System.out.printf("%-16s %,14d %8.3f%%%n", r.get("method"), r.get("trainable_parameters"), r.get("percent_of_base"));
        return 0;
    }
}
