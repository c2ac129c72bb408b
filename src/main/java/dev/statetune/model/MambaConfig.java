package dev.statetune.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.statetune.StatetuneException;

import java.nio.file.Path;

/**
 * The Mamba-1 hyperparameters, read from either checkpoint layout: Hugging Face's
 * `MambaConfig` (model_type "mamba") or the original state-spaces `MambaConfig` (d_model, n_layer,
 * ssm_cfg, pad_vocab_size_multiple). vocabSize is the padded size, i.e. the embedding's rows.
 */
public record MambaConfig(int modelDim, int nLayers, int vocabSize, int stateDim, int innerDim, int convWidth,
                          int dtRank, boolean useBias, boolean useConvBias, float normEps, boolean tieEmbeddings,
                          int eosTokenId) {

    public MambaConfig {
        if (modelDim <= 0 || nLayers <= 0 || vocabSize <= 0 || stateDim <= 0 || innerDim <= 0 || convWidth <= 0 || dtRank <= 0)
            throw new StatetuneException("config: every size must be positive: " + this);
    }

    /** A config from config.json; `file` is named in errors. */
    public static MambaConfig fromJson(JsonNode json, Path file) {
        if (json.has("model_type")) {
            String type = json.get("model_type").asText();
            if (!type.equals("mamba"))
                throw new StatetuneException(file + ": model_type '" + type + "' is not supported (expected 'mamba')");
            return fromHuggingFace(json, file);
        }
        if (json.has("d_model") && json.has("n_layer")) return fromStateSpaces(json, file);
        throw new StatetuneException(file + ": neither a Hugging Face Mamba config (model_type) nor a state-spaces one (d_model, n_layer)");
    }

    private static MambaConfig fromHuggingFace(JsonNode j, Path file) {
        int modelDim = requireInt(j, "hidden_size", file);
        int expand = j.path("expand").asInt(2);
        int innerDim = j.path("intermediate_size").asInt(expand * modelDim);
        return new MambaConfig(modelDim, requireInt(j, "num_hidden_layers", file), requireInt(j, "vocab_size", file),
                j.path("state_size").asInt(16), innerDim, j.path("conv_kernel").asInt(4),
                dtRank(j.get("time_step_rank"), modelDim), j.path("use_bias").asBoolean(false),
                j.path("use_conv_bias").asBoolean(true), (float) j.path("layer_norm_epsilon").asDouble(1e-5),
                j.path("tie_word_embeddings").asBoolean(true), eos(j));
    }

    private static MambaConfig fromStateSpaces(JsonNode j, Path file) {
        JsonNode ssm = j.path("ssm_cfg");
        String layer = ssm.path("layer").asText("Mamba1");
        if (!layer.equals("Mamba1"))
            throw new StatetuneException(file + ": ssm_cfg.layer '" + layer + "' is not supported (expected Mamba1)");
        int modelDim = requireInt(j, "d_model", file);
        int vocab = requireInt(j, "vocab_size", file);
        int multiple = j.path("pad_vocab_size_multiple").asInt(8);
        int padded = multiple > 1 ? (vocab + multiple - 1) / multiple * multiple : vocab;
        return new MambaConfig(modelDim, requireInt(j, "n_layer", file), padded, ssm.path("d_state").asInt(16),
                ssm.path("expand").asInt(2) * modelDim, ssm.path("d_conv").asInt(4), dtRank(ssm.get("dt_rank"), modelDim),
                ssm.path("bias").asBoolean(false), ssm.path("conv_bias").asBoolean(true),
                (float) j.path("norm_epsilon").asDouble(1e-5), j.path("tie_embeddings").asBoolean(true), 0);
    }

    private static int dtRank(JsonNode node, int modelDim) {
        return node == null || node.isNull() || node.asText().equals("auto") ? (modelDim + 15) / 16 : node.asInt();
    }

    private static int eos(JsonNode j) {
        JsonNode e = j.get("eos_token_id");
        if (e != null && e.isArray()) e = e.size() > 0 ? e.get(0) : null;
        return e == null || e.isNull() ? 0 : e.asInt();
    }

    private static int requireInt(JsonNode j, String key, Path file) {
        JsonNode v = j.get(key);
        if (v == null || !v.canConvertToInt()) throw new StatetuneException(file + ": missing or non-integer '" + key + "'");
        return v.asInt();
    }

    /** This config as a Hugging Face `MambaConfig` config.json (what `statetune merge` writes). */
    public java.util.Map<String, Object> toHuggingFace() {
        java.util.Map<String, Object> j = new java.util.LinkedHashMap<>();
        j.put("architectures", java.util.List.of("MambaForCausalLM"));
        j.put("model_type", "mamba");
        j.put("hidden_size", modelDim);
        j.put("num_hidden_layers", nLayers);
        j.put("vocab_size", vocabSize);
        j.put("state_size", stateDim);
        j.put("intermediate_size", innerDim);
        j.put("expand", innerDim / modelDim);
        j.put("conv_kernel", convWidth);
        j.put("time_step_rank", dtRank);
        j.put("use_bias", useBias);
        j.put("use_conv_bias", useConvBias);
        j.put("layer_norm_epsilon", normEps);
        putCommonHuggingFace(j, tieEmbeddings, eosTokenId);
        return j;
    }

    /** The config.json entries Mamba and Mamba-2 share: tying, special tokens (all eos), fp32 residual, SiLU, float32 weights. */
    public static void putCommonHuggingFace(java.util.Map<String, Object> j, boolean tieEmbeddings, int eosTokenId) {
        j.put("tie_word_embeddings", tieEmbeddings);
        j.put("eos_token_id", eosTokenId);
        j.put("pad_token_id", eosTokenId);
        j.put("bos_token_id", eosTokenId);
        j.put("residual_in_fp32", true);
        j.put("hidden_act", "silu");
        j.put("dtype", "float32");
    }

    /** Parameters of the model, the tied lm_head counted once. */
    public long parameterCount() {
        long perLayer = (long) modelDim * 2 * innerDim + (useBias ? 2L * innerDim : 0)     // in_proj
                + (long) innerDim * convWidth + (useConvBias ? innerDim : 0)               // conv1d
                + (long) innerDim * (dtRank + 2L * stateDim)                               // x_proj
                + (long) dtRank * innerDim + innerDim                                      // dt_proj
                + (long) innerDim * stateDim + innerDim                                    // A_log, D
                + (long) innerDim * modelDim + (useBias ? modelDim : 0)                    // out_proj
                + modelDim;                                                                // norm
        long embedding = (long) vocabSize * modelDim;
        return embedding + nLayers * perLayer + modelDim + (tieEmbeddings ? 0 : embedding);
    }
}
