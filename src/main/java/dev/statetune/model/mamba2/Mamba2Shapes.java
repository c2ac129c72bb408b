package dev.statetune.model.mamba2;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;
import dev.statetune.model.ModelShapes;
import dev.statetune.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The published state-spaces Mamba-2 sizes (d_model, n_layer; vocab 50280, d_state 128, headdim 64,
 * expand 2, one group, d_conv 4, chunk 256) as Hugging Face configs, and random weights of those
 * shapes for benchmarks that need no checkpoint.
 */
public final class Mamba2Shapes {
    private Mamba2Shapes() {}

    public static final Map<String, int[]> SIZES = Map.of(
            "130m", new int[] {768, 24}, "370m", new int[] {1024, 48}, "780m", new int[] {1536, 48},
            "1.3b", new int[] {2048, 48}, "2.7b", new int[] {2560, 64});

    /** config.json of a Mamba2ForCausalLM of this size. */
    public static ObjectNode configJson(String size) {
        int[] s = SIZES.get(size);
        if (s == null) throw new StatetuneException("unknown Mamba-2 size '" + size + "' (known: 130m, 370m, 780m, 1.3b, 2.7b)");
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", "mamba2").put("hidden_size", s[0]).put("num_hidden_layers", s[1]).put("vocab_size", 50280)
                .put("num_heads", 2 * s[0] / 64).put("head_dim", 64).put("n_groups", 1).put("state_size", 128).put("expand", 2)
                .put("conv_kernel", 4).put("chunk_size", 256).put("use_bias", false).put("use_conv_bias", true)
                .put("layer_norm_epsilon", 1e-5).put("tie_word_embeddings", true).put("eos_token_id", 0);
        return c;
    }

    /** Random float32 weights under Hugging Face names, initialised roughly as transformers does. */
    public static Map<String, Tensor> randomWeights(Mamba2Config c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = c.modelDim(), di = c.innerDim(), nh = c.ssd().nHeads(), conv = c.convDim();
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("backbone.embeddings.weight", ModelShapes.uniform(rnd, 0.02f, c.vocabSize(), d));
        for (int i = 0; i < c.nLayers(); i++) {
            String m = "backbone.layers." + i + ".mixer.";
            w.put("backbone.layers." + i + ".norm.weight", ModelShapes.constant(1f, d));
            w.put(m + "in_proj.weight", ModelShapes.uniform(rnd, (float) (1 / Math.sqrt(d)), c.inProjDim(), d));
            w.put(m + "conv1d.weight", ModelShapes.uniform(rnd, 0.5f, conv, 1, c.convWidth()));
            w.put(m + "conv1d.bias", ModelShapes.uniform(rnd, 0.1f, conv));
            w.put(m + "dt_bias", Tensor.of(ModelShapes.dtBias(rnd, nh), nh));
            float[] aLog = new float[nh];
            for (int h = 0; h < nh; h++) aLog[h] = (float) Math.log(1 + h % 16);
            w.put(m + "A_log", Tensor.of(aLog, nh));
            w.put(m + "D", ModelShapes.constant(1f, nh));
            w.put(m + "norm.weight", ModelShapes.constant(1f, di));
            w.put(m + "out_proj.weight", ModelShapes.uniform(rnd, (float) (1 / Math.sqrt(di)), d, di));
        }
        w.put("backbone.norm_f.weight", ModelShapes.constant(1f, d));
        return w;
    }
}
