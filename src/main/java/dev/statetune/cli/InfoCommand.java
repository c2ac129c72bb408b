package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.io.Checkpoint;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.mamba2.Mamba2Config;
import dev.statetune.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** `statetune info`: what a checkpoint is (config, parameter count, stored dtypes, size). */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's config, parameter count, stored dtype and size.")
final class InfoCommand implements Callable<Integer> {
    @Mixin ModelDirOption model;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(model.modelDir())) {
            boolean mamba2 = ckpt.modelType().equals("mamba2");
            Mamba2Config c2 = mamba2 ? Mamba2Config.fromJson(ckpt.configJson(), model.modelDir().resolve("config.json")) : null;
            MambaConfig c = mamba2 ? null : ckpt.config();
            long parameters = mamba2 ? c2.parameterCount() : c.parameterCount();
            Map<DType, Long> dtypes = new TreeMap<>();
            ckpt.tensors().values().forEach(t -> dtypes.merge(t.dtype(), t.numel(), Long::sum));
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("model", model.describe());
            info.put("architecture", ckpt.modelType());
            info.put("parameters", parameters);
            info.put("stored_dtypes", dtypes.keySet().stream().map(d -> d.safetensorsName).toList());
            info.put("size_bytes", ckpt.storedBytes());
            info.put("config", mamba2 ? c2 : c);
            if (json) {
                System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(info));
                return 0;
            }
            System.out.printf("model        %s%n", info.get("model"));
            if (mamba2) describe(c2);
            else describe(c);
            System.out.printf("parameters   %,d (%.1fM)%n", parameters, parameters / 1e6);
            System.out.printf("stored as    %s, %.1f MB on disk%n", info.get("stored_dtypes"), ckpt.storedBytes() / 1e6);
            return 0;
        }
    }

    private static void describe(MambaConfig c) {
        System.out.printf("architecture Mamba-1, %d layers, d_model %d, d_inner %d, d_state %d, d_conv %d, dt_rank %d%n",
                c.nLayers(), c.modelDim(), c.innerDim(), c.stateDim(), c.convWidth(), c.dtRank());
        System.out.printf("vocabulary   %d (embedding rows), lm_head %s, eos id %d%n", c.vocabSize(),
                c.tieEmbeddings() ? "tied" : "untied", c.eosTokenId());
        System.out.printf("biases       in/out_proj %s, conv1d %s; rms-norm eps %g%n", c.useBias(), c.useConvBias(), c.normEps());
    }

    private static void describe(Mamba2Config c) {
        var ssd = c.ssd();
        System.out.printf("architecture Mamba-2, %d layers, d_model %d, d_inner %d (%d heads × %d), %d groups, d_state %d, d_conv %d, chunk %d%n",
                c.nLayers(), c.modelDim(), c.innerDim(), ssd.nHeads(), ssd.headDim(), ssd.nGroups(), ssd.stateDim(), c.convWidth(), ssd.chunkSize());
        System.out.printf("vocabulary   %d (embedding rows), lm_head %s, eos id %d%n", c.vocabSize(),
                c.tieEmbeddings() ? "tied" : "untied", c.eosTokenId());
        System.out.printf("biases       in/out_proj %s, conv1d %s; rms-norm eps %g; dt in [%g, %g]%n", c.useBias(), c.useConvBias(),
                c.normEps(), c.dtMin(), c.dtMax());
    }
}
