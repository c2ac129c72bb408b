package dev.statetune.model.mamba2;

import com.fasterxml.jackson.databind.JsonNode;
import dev.statetune.StatetuneException;
import dev.statetune.backend.SsdDims;

import java.nio.file.Path;

/**
 * The Mamba-2 hyperparameters, read from either checkpoint layout: Hugging Face's `Mamba2Config`
 * (model_type "mamba2", transformers 5.x field names and defaults) or the original state-spaces
 * `MambaConfig` with ssm_cfg.layer "Mamba2" (mamba_ssm/models/config_mamba.py, modules/mamba2.py).
 * The two differ in the gated norm: transformers normalises the whole inner width with
 * layer_norm_epsilon, mamba_ssm each group's innerDim/nGroups columns with eps 1e-5.
 */
public record Mamba2Config(int modelDim, int nLayers, int vocabSize, SsdDims ssd, int convWidth, boolean useBias,
                           boolean useConvBias, float normEps, int gatedNormGroup, float gatedNormEps, float dtMin,
                           float dtMax, boolean tieEmbeddings, int eosTokenId) {

    public Mamba2Config {
        if (modelDim <= 0 || nLayers <= 0 || vocabSize <= 0 || convWidth <= 0)
            throw new StatetuneException("config: every size must be positive: " + this);
    }

    /** Whether config.json describes a Mamba-2 model (in either layout). */
    public static boolean describes(JsonNode json) {
        return json.path("model_type").asText().equals("mamba2") || json.path("ssm_cfg").path("layer").asText().equals("Mamba2");
    }

    /** A config from config.json; `file` is named in errors. */
    public static Mamba2Config fromJson(JsonNode json, Path file) {
        if (json.has("model_type")) {
            String type = json.get("model_type").asText();
            if (!type.equals("mamba2"))
                throw new StatetuneException(file + ": model_type '" + type + "' is not supported (expected 'mamba2')");
            return fromHuggingFace(json, file);
        }
        if (describes(json)) return fromStateSpaces(json, file);
        throw new StatetuneException(file + ": neither a Hugging Face Mamba-2 config (model_type mamba2) nor a state-spaces one (ssm_cfg.layer Mamba2)");
    }

    private static Mamba2Config fromHuggingFace(JsonNode j, Path file) {
        int modelDim = requireInt(j, "hidden_size", file);
        int nHeads = intOr(j, "num_heads", 128, file), headDim = intOr(j, "head_dim", 64, file);
        int innerDim = intOr(j, "expand", 2, file) * modelDim;
        if (innerDim != nHeads * headDim)
            throw new StatetuneException(file + ": hidden_size · expand (" + innerDim + ") must equal num_heads · head_dim ("
                    + nHeads * headDim + ")");
        float eps = (float) j.path("layer_norm_epsilon").asDouble(1e-5);
        float[] limit = timeStepLimit(j.get("time_step_limit"), file, "time_step_limit");
        return new Mamba2Config(modelDim, requireInt(j, "num_hidden_layers", file), requireInt(j, "vocab_size", file),
                dims(nHeads, headDim, intOr(j, "n_groups", 8, file), intOr(j, "state_size", 128, file), intOr(j, "chunk_size", 256, file), file),
                intOr(j, "conv_kernel", 4, file), j.path("use_bias").asBoolean(false), j.path("use_conv_bias").asBoolean(true),
                eps, innerDim, eps, limit[0], limit[1], j.path("tie_word_embeddings").asBoolean(false), eos(j, 2));
    }

    private static Mamba2Config fromStateSpaces(JsonNode j, Path file) {
        JsonNode ssm = j.path("ssm_cfg");
        int modelDim = requireInt(j, "d_model", file);
        if (j.path("d_intermediate").asInt(0) != 0 || j.path("attn_layer_idx").size() > 0)
            throw new StatetuneException(file + ": MLP or attention layers (d_intermediate, attn_layer_idx) are not supported");
        if (!j.path("rms_norm").asBoolean(true) || !ssm.path("rmsnorm").asBoolean(true) || ssm.path("norm_before_gate").asBoolean(false)
                || ssm.path("D_has_hdim").asBoolean(false) || !ssm.path("d_ssm").isMissingNode() && !ssm.path("d_ssm").isNull())
            throw new StatetuneException(file + ": only the default Mamba2 mixer is supported (RMSNorm, gate before norm, "
                    + "D per head, no d_ssm)");
        int innerDim = intOr(ssm, "expand", 2, file) * modelDim, headDim = intOr(ssm, "headdim", 64, file);
        if (innerDim % headDim != 0)
            throw new StatetuneException(file + ": expand · d_model (" + innerDim + ") is not a multiple of headdim " + headDim);
        int nGroups = intOr(ssm, "ngroups", 1, file);
        int vocab = requireInt(j, "vocab_size", file), multiple = j.path("pad_vocab_size_multiple").asInt(8);
        int padded = multiple > 1 ? (vocab + multiple - 1) / multiple * multiple : vocab;
        float[] limit = timeStepLimit(ssm.get("dt_limit"), file, "ssm_cfg.dt_limit");
        return new Mamba2Config(modelDim, requireInt(j, "n_layer", file), padded,
                dims(innerDim / headDim, headDim, nGroups, intOr(ssm, "d_state", 128, file), intOr(ssm, "chunk_size", 256, file), file),
                intOr(ssm, "d_conv", 4, file), ssm.path("bias").asBoolean(false), ssm.path("conv_bias").asBoolean(true),
                (float) j.path("norm_epsilon").asDouble(1e-5), innerDim / nGroups, 1e-5f, limit[0], limit[1],
                j.path("tie_embeddings").asBoolean(true), eos(j, 0));
    }

    private static SsdDims dims(int nHeads, int headDim, int nGroups, int stateDim, int chunkSize, Path file) {
        if (nHeads <= 0 || headDim <= 0 || nGroups <= 0 || stateDim <= 0 || chunkSize <= 0)
            throw new StatetuneException(file + ": heads, head size, groups, state size and chunk size must be positive");
        if (nHeads % nGroups != 0)
            throw new StatetuneException(file + ": " + nHeads + " heads do not split into " + nGroups + " groups");
        return new SsdDims(nHeads, headDim, nGroups, stateDim, chunkSize);
    }

    /**
     * [min, max] of dt. Python's json writes infinity as a bare Infinity, transformers 5 as
     * {"__float__": "Infinity"}; both are read, as is a missing limit (no clamp).
     */
    private static float[] timeStepLimit(JsonNode node, Path file, String key) {
        if (node == null || node.isNull()) return new float[] {0f, Float.POSITIVE_INFINITY};
        if (!node.isArray() || node.size() != 2) throw new StatetuneException(file + ": '" + key + "' must be [min, max]");
        float[] out = new float[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = node.get(i).has("__float__") ? node.get(i).get("__float__") : node.get(i);
            try {
                out[i] = v.isNumber() ? v.floatValue() : Float.parseFloat(v.asText());
            } catch (NumberFormatException e) {
                throw new StatetuneException(file + ": '" + key + "' must be [min, max], got " + node);
            }
        }
        if (!(out[0] <= out[1])) throw new StatetuneException(file + ": '" + key + "' has min > max: " + node);
        return out;
    }

    /** The (first) eos_token_id, or the layout's default when absent. */
    private static int eos(JsonNode j, int fallback) {
        JsonNode e = j.get("eos_token_id");
        if (e != null && e.isArray()) e = e.size() > 0 ? e.get(0) : null;
        return e == null || e.isNull() ? fallback : e.asInt();
    }

    private static int requireInt(JsonNode j, String key, Path file) {
        JsonNode v = j.get(key);
        if (v == null || !v.canConvertToInt()) throw new StatetuneException(file + ": missing or non-integer '" + key + "'");
        return v.asInt();
    }

    private static int intOr(JsonNode j, String key, int fallback, Path file) {
        return j.has(key) ? requireInt(j, key, file) : fallback;
    }

    public int innerDim() { return ssd.innerDim(); }
    public int convDim() { return ssd.convDim(); }

    /** in_proj's output width: z (innerDim) | xBC (convDim) | dt (nHeads). */
    public int inProjDim() { return innerDim() + convDim() + ssd.nHeads(); }

    /**
     * This config as a Hugging Face `Mamba2Config` config.json (what `statetune merge` writes).
     * transformers' gated norm spans the whole inner width, so a state-spaces model whose norm works
     * per group (ngroups > 1) has no such config: that is an error.
     */
    public java.util.Map<String, Object> toHuggingFace() {
        if (gatedNormGroup != innerDim() || gatedNormEps != normEps)
            throw new StatetuneException("this Mamba-2 model normalises each of its " + ssd.nGroups() + " groups on its own (the "
                    + "state-spaces layout), which a Hugging Face Mamba2 config cannot express");
        java.util.Map<String, Object> j = new java.util.LinkedHashMap<>();
        j.put("architectures", java.util.List.of("Mamba2ForCausalLM"));
        j.put("model_type", "mamba2");
        j.put("hidden_size", modelDim);
        j.put("num_hidden_layers", nLayers);
        j.put("vocab_size", vocabSize);
        j.put("num_heads", ssd.nHeads());
        j.put("head_dim", ssd.headDim());
        j.put("n_groups", ssd.nGroups());
        j.put("state_size", ssd.stateDim());
        j.put("chunk_size", ssd.chunkSize());
        j.put("expand", innerDim() / modelDim);
        j.put("conv_kernel", convWidth);
        j.put("use_bias", useBias);
        j.put("use_conv_bias", useConvBias);
        j.put("layer_norm_epsilon", normEps);
        j.put("time_step_limit", java.util.List.of(jsonFloat(dtMin), jsonFloat(dtMax)));
        dev.statetune.model.MambaConfig.putCommonHuggingFace(j, tieEmbeddings, eosTokenId);
        return j;
    }

    /** A float for config.json; infinities as transformers 5 writes them ({"__float__": "Infinity"}). */
    private static Object jsonFloat(float v) {
        if (Float.isFinite(v)) return v;
        return java.util.Map.of("__float__", v > 0 ? "Infinity" : "-Infinity");
    }

    /** Parameters of the model, the tied lm_head counted once. */
    public long parameterCount() {
        long d = modelDim, di = innerDim(), conv = convDim(), nh = ssd.nHeads(), proj = inProjDim();
        long perLayer = d                                                  // norm
                + proj * d + (useBias ? proj : 0)                          // in_proj
                + conv * convWidth + (useConvBias ? conv : 0)              // conv1d
                + 3 * nh                                                   // dt_bias, A_log, D
                + di                                                       // the gated norm
                + di * d + (useBias ? d : 0);                              // out_proj
        long embedding = (long) vocabSize * d;
        return embedding + nLayers * perLayer + d + (tieEmbeddings ? 0 : embedding);
    }
}
