package dev.statetune.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;
import dev.statetune.io.Checkpoint;
import dev.statetune.io.SafeTensors;
import dev.statetune.io.SafeTensorsWriter;
import dev.statetune.model.MambaConfig;
import dev.statetune.model.ExtraState;
import dev.statetune.model.LanguageModel;
import dev.statetune.model.LowRank;
import dev.statetune.model.MambaLM;
import dev.statetune.model.TrainedWeight;
import dev.statetune.model.Seams;
import dev.statetune.model.mamba2.Mamba2Config;
import dev.statetune.model.mamba2.Mamba2LM;
import dev.statetune.model.mamba2.Mamba2Seams;
import dev.statetune.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trainable parameters of one or several composed methods, and their PEFT-style directory:
 * adapter_config.json (methods, options, the base model's config hash, library version) and
 * adapter_model.safetensors with tensors named by module path, e.g.
 * `backbone.layers.3.mixer.h_offset` (di, n) on Mamba-1, (nHeads, headDim, n) on Mamba-2. The state
 * methods fill the model's seams (Seams, Mamba2Seams).
 */
public final class Adapter {
    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";
    private static final String PROMPT_EMBEDDINGS = "prompt_embeddings";   // Hugging Face PEFT's name
    private static final String LIBRARY = "statetune 0.1.0";

    private final List<Method> methods;
    private final MethodOptions options;
    private final String baseConfigHash;
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Map<String, Parameter> weights = new LinkedHashMap<>();   // the checkpoint weights trained, by HF name

    private Adapter(List<Method> methods, MethodOptions options, LanguageModel model, long seed) {
        this.methods = List.copyOf(methods);
        this.options = options;
        if (model instanceof Mamba2LM m2) {
            this.baseConfigHash = hash(m2.config());
            addMamba2(m2, seed);
            return;
        }
        MambaConfig base = ((MambaLM) model).config();
        this.baseConfigHash = hash(base);
        if (methods.contains(Method.ADDITIONAL_SCAN) && (methods.contains(Method.STATE_OFFSET_H) || methods.contains(Method.INITIAL_STATE)))
            throw new StatetuneException("additional-scan widens the state, so it does not compose with state-offset-h or initial-state");
        for (Method m : methods) {
            switch (m) {   // weight methods start from the checkpoint's values, as fp32 master copies
                case BITFIT -> {
                    for (int i = 0; i < base.nLayers(); i++) {
                        String p = "backbone.layers." + i + ".mixer.";
                        if (base.useConvBias()) addWeight(model, p + "conv1d.bias");
                        addWeight(model, p + "dt_proj.bias");
                    }
                }
                case FULL -> model.weightNames().forEach(name -> addWeight(model, name));
                case LORA -> addLora(options.loraTargets().stream().map(name -> LoraTarget.of(name, base)).toList(), base.nLayers(), seed);
                case PROMPT -> addPrompt(model, seed);
                default -> { }
            }
        }
        java.util.SplittableRandom init = new java.util.SplittableRandom(seed + 1);
        for (int i = 0; i < base.nLayers(); i++)
            for (Method m : methods) addLayerParameters(i, m, base, init);
    }

    /** The per-layer parameters of the state methods, prefix and additional-scan, for layer i. */
    private void addLayerParameters(int i, Method m, MambaConfig base, java.util.SplittableRandom init) {
        String p = "backbone.layers." + i + ".mixer.";
        int di = base.innerDim(), n = base.stateDim(), k = base.convWidth();
        switch (m) {   // state parameters start at zero: the model is unchanged at step 0
            case STATE_OFFSET_H -> add(p + "h_offset", di, n);
            case STATE_OFFSET_Y -> add(p + "y_offset", di);
            case INITIAL_STATE -> {
                add(p + "h0", di, n);
                if (options.tuneConvState()) add(p + "conv_state0", di, k - 1);
            }
            case ADDITIONAL_SCAN -> {   // B′ rows kaiming-uniform, C′ rows zero (unchanged at step 0), A_log′ = log(1..n′)
                int extra = options.extraStateDims();
                float[] b = new float[extra * di], a = new float[di * extra];
                double bound = 1 / Math.sqrt(di);
                for (int j = 0; j < b.length; j++) b[j] = (float) init.nextDouble(-bound, bound);
                for (int j = 0; j < a.length; j++) a[j] = (float) Math.log(1 + j % extra);
                put(new Parameter(p + "x_proj.extra_B", b, true, extra, di));
                put(new Parameter(p + "x_proj.extra_C", new float[extra * di], true, extra, di));
                put(new Parameter(p + "A_log.extra", a, false, di, extra));
            }
            case PREFIX -> addPrefix(p, base.modelDim(), init);
            default -> { }
        }
    }

    /**
     * The parameters of a Mamba-2 model (PAPER_NOTES.md, Mamba-2 analogue): h′ and h0 (nHeads, headDim, n),
     * y′ (nHeads, headDim); LoRA on in_proj / out_proj; BitFit's conv1d and in/out_proj biases and dt_bias.
     * Prompt and Prefix-Tuning as on Mamba-1. Additional-scan is refused.
     */
    private void addMamba2(Mamba2LM model, long seed) {
        Mamba2Config c = model.config();
        var ssd = c.ssd();
        for (Method m : methods)
            if (m == Method.ADDITIONAL_SCAN || (m == Method.INITIAL_STATE && options.tuneConvState()))
                throw new StatetuneException("method '" + m.cliName + (m == Method.INITIAL_STATE ? " --tune-conv-state" : "")
                        + "' is not available for Mamba-2 models (available: state-offset-h, state-offset-y, initial-state, prefix, prompt, lora, "
                        + "bitfit, full)");
        for (Method m : methods)
            switch (m) {
                case BITFIT -> {
                    for (int i = 0; i < c.nLayers(); i++) {
                        String p = "backbone.layers." + i + ".mixer.";
                        if (c.useConvBias()) addWeight(model, p + "conv1d.bias");
                        if (c.useBias()) {
                            addWeight(model, p + "in_proj.bias");
                            addWeight(model, p + "out_proj.bias");
                        }
                        addWeight(model, p + "dt_bias");
                    }
                }
                case FULL -> model.weightNames().forEach(name -> addWeight(model, name));
                case LORA -> addLora(options.loraTargets().stream().map(name -> LoraTarget.of(name, c)).toList(), c.nLayers(), seed);
                case PROMPT -> addPrompt(model, seed);
                default -> { }
            }
        java.util.SplittableRandom init = new java.util.SplittableRandom(seed + 1);   // as on Mamba-1
        for (int i = 0; i < c.nLayers(); i++) {
            String p = "backbone.layers." + i + ".mixer.";
            for (Method m : methods)
                switch (m) {   // state parameters start at zero: the model is unchanged at step 0
                    case STATE_OFFSET_H -> add(p + "h_offset", ssd.nHeads(), ssd.headDim(), ssd.stateDim());
                    case STATE_OFFSET_Y -> add(p + "y_offset", ssd.nHeads(), ssd.headDim());
                    case INITIAL_STATE -> add(p + "h0", ssd.nHeads(), ssd.headDim(), ssd.stateDim());
                    case PREFIX -> addPrefix(p, c.modelDim(), init);
                    default -> { }
                }
        }
    }

    /** LoRA's A kaiming-uniform (a = √5, i.e. U(±1/√in)) as PEFT initialises it, B zeros: the model is unchanged at step 0. */
    private void addLora(List<LoraTarget> targets, int nLayers, long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (int i = 0; i < nLayers; i++)
            for (LoraTarget t : targets) {
                float[] a = new float[options.loraRank() * t.in()];
                double bound = 1 / Math.sqrt(t.in());
                for (int j = 0; j < a.length; j++) a[j] = (float) rnd.nextDouble(-bound, bound);
                put(new Parameter(t.key(i, "A"), a, true, options.loraRank(), t.in()));
                put(new Parameter(t.key(i, "B"), new float[(t.rowTo() - t.rowFrom()) * options.loraRank()], true,
                        t.rowTo() - t.rowFrom(), options.loraRank()));
            }
    }

    /** Prefix-Tuning's M virtual tokens at one mixer's input (p: its name prefix), small random (PAPER_NOTES.md). */
    private void addPrefix(String p, int modelDim, java.util.SplittableRandom init) {
        float[] v = new float[options.virtualTokens() * modelDim];
        for (int j = 0; j < v.length; j++) v[j] = (float) init.nextDouble(-0.02, 0.02);
        put(new Parameter(p + "prefix_tokens", v, false, options.virtualTokens(), modelDim));
    }

    /** Prompt Tuning's M virtual embeddings start as the embeddings of M random vocabulary tokens (PAPER_NOTES.md). */
    private void addPrompt(LanguageModel model, long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        Tensor table = model.storedWeight("backbone.embeddings.weight");
        int m = options.virtualTokens(), d = (int) table.size(1);
        float[] v = new float[m * d];
        for (int row = 0; row < m; row++) {
            long token = rnd.nextInt(model.vocabSize());
            for (int c = 0; c < d; c++) v[row * d + c] = table.getFloat(token * d + c);
        }
        put(new Parameter(PROMPT_EMBEDDINGS, v, false, m, d));
    }

    private void add(String name, long... shape) {
        put(new Parameter(name, new float[(int) Tensor.numel(shape)], false, shape));
    }

    /** Matrices and the embedding decay (when --weight-decay is set); biases, norms, A_log and D never do. */
    private void addWeight(LanguageModel model, String name) {
        Tensor t = model.storedWeight(name);
        boolean decay = t.rank() >= 2 && !name.endsWith("A_log") && !name.endsWith("conv1d.weight");
        Parameter p = new Parameter(name, t.toFloatArray(), decay, t.shape());
        put(p);
        weights.put(name, p);
    }

    private void put(Parameter p) {
        if (params.containsKey(p.name)) throw new StatetuneException("methods train " + p.name + " twice: " + methods);
        params.put(p.name, p);
    }

    /** A fresh adapter for these methods on this base model: states and offsets at zero, weights as the checkpoint has them. */
    public static Adapter create(LanguageModel base, List<Method> methods, MethodOptions options, long seed) {
        return new Adapter(methods, options, base, seed);
    }

    public static Adapter create(LanguageModel base, List<Method> methods, MethodOptions options) {
        return create(base, methods, options, 42);
    }

    /** Plugs this adapter into the model: its seams, and its weights in place of the checkpoint's. */
    public void attach(LanguageModel model) {
        switch (model) {
            case MambaLM m1 -> {
                m1.setSeams(seams(m1.config()));
                Parameter prompt = params.get(PROMPT_EMBEDDINGS);
                m1.setSoftPrompt(value(prompt), grad(prompt));
            }
            case Mamba2LM m2 -> {
                m2.setSeams(mamba2Seams(m2.config()));
                Parameter prompt = params.get(PROMPT_EMBEDDINGS);
                m2.setSoftPrompt(value(prompt), grad(prompt));
            }
            default -> throw new IllegalArgumentException("no seams for " + model.getClass().getSimpleName());
        }
        Map<String, TrainedWeight> trained = new LinkedHashMap<>();
        weights.forEach((name, p) -> trained.put(name, new TrainedWeight(p.valueTensor(), p.gradTensor())));
        model.setTrainedWeights(trained);
    }

    public List<Method> methods() { return methods; }
    public MethodOptions options() { return options; }
    public List<Parameter> parameters() { return List.copyOf(params.values()); }

    public long parameterCount() {
        return params.values().stream().mapToLong(p -> p.value.length).sum();
    }

    /** Per-layer seams whose values and gradients are this adapter's parameter arrays (no copies). */
    private Seams[] seams(MambaConfig base) {
        Seams[] out = new Seams[base.nLayers()];
        for (int i = 0; i < out.length; i++) {
            String p = "backbone.layers." + i + ".mixer.";
            Parameter h = params.get(p + "h_offset"), y = params.get(p + "y_offset"), h0 = params.get(p + "h0"), c0 = params.get(p + "conv_state0");
            List<LowRank> lowRank = lowRank(methods.contains(Method.LORA)
                    ? options.loraTargets().stream().map(name -> LoraTarget.of(name, base)).toList() : List.<LoraTarget>of(), i);
            Parameter prefix = params.get(p + "prefix_tokens");
            Parameter eb = params.get(p + "x_proj.extra_B"), ec = params.get(p + "x_proj.extra_C"), ea = params.get(p + "A_log.extra");
            ExtraState extra = eb == null ? null : new ExtraState(value(eb), value(ec), value(ea), grad(eb), grad(ec), grad(ea));
            out[i] = new Seams(value(h), value(y), value(h0), value(c0), grad(h), grad(y), grad(h0), grad(c0), lowRank,
                    value(prefix), grad(prefix), extra);
        }
        return out;
    }

    /** Per-layer Mamba-2 seams over this adapter's parameter arrays (no copies). */
    private Mamba2Seams[] mamba2Seams(Mamba2Config base) {
        Mamba2Seams[] out = new Mamba2Seams[base.nLayers()];
        List<LoraTarget> targets = methods.contains(Method.LORA)
                ? options.loraTargets().stream().map(name -> LoraTarget.of(name, base)).toList() : List.of();
        for (int i = 0; i < out.length; i++) {
            String p = "backbone.layers." + i + ".mixer.";
            Parameter h = params.get(p + "h_offset"), y = params.get(p + "y_offset"), h0 = params.get(p + "h0"), prefix = params.get(p + "prefix_tokens");
            out[i] = new Mamba2Seams(value(h), value(y), value(h0), grad(h), grad(y), grad(h0), lowRank(targets, i), value(prefix), grad(prefix));
        }
        return out;
    }

    /** Layer i's LoRA updates over this adapter's A and B arrays. */
    private List<LowRank> lowRank(List<LoraTarget> targets, int layer) {
        List<LowRank> out = new ArrayList<>();
        for (LoraTarget t : targets) {
            Parameter a = params.get(t.key(layer, "A")), b = params.get(t.key(layer, "B"));
            out.add(new LowRank(t.module(), t.rowFrom(), t.rowTo(), value(a), value(b),
                    (float) (options.loraAlpha() / options.loraRank()), (float) options.loraDropout(), grad(a), grad(b)));
        }
        return out;
    }

    private static Tensor value(Parameter p) { return p == null ? null : p.valueTensor(); }
    private static Tensor grad(Parameter p) { return p == null ? null : p.gradTensor(); }

    /**
     * The base model's weights with this adapter folded in (float32, by Hugging Face name): LoRA's
     * W[rows] += (α/r)·B·A, BitFit's and full fine-tuning's trained values. State methods act on
     * the recurrence's read-out and start, not on a weight, so they cannot be merged.
     */
    public Map<String, Tensor> mergedWeights(LanguageModel model) {
        for (Method m : methods)
            if (m != Method.LORA && m != Method.BITFIT && m != Method.FULL)
                throw new StatetuneException("method '" + m.cliName + "' cannot be merged into the weights (it is not a weight update); "
                        + "use the adapter directory with --adapter instead");
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : model.weightNames()) {
            Parameter trainedWeight = weights.get(name);
            out.put(name, Tensor.of(trainedWeight != null ? trainedWeight.value.clone() : model.storedWeight(name).toFloatArray(),
                    model.storedWeight(name).shape()));
        }
        if (!methods.contains(Method.LORA)) return out;
        int layers = model instanceof Mamba2LM m2 ? m2.config().nLayers() : ((MambaLM) model).config().nLayers();
        for (int i = 0; i < layers; i++)
            for (String name : options.loraTargets()) {
                LoraTarget t = model instanceof Mamba2LM m2 ? LoraTarget.of(name, m2.config()) : LoraTarget.of(name, ((MambaLM) model).config());
                float[] a = params.get(t.key(i, "A")).value, b = params.get(t.key(i, "B")).value;
                Tensor w = out.get("backbone.layers." + i + ".mixer." + t.module() + ".weight");
                int rank = options.loraRank(), in = t.in();
                float scale = (float) (options.loraAlpha() / rank);
                for (int row = t.rowFrom(); row < t.rowTo(); row++)
                    for (int col = 0; col < in; col++) {
                        float delta = 0;
                        for (int q = 0; q < rank; q++) delta += b[(row - t.rowFrom()) * rank + q] * a[q * in + col];
                        long at = (long) row * in + col;
                        w.data().setAtIndex(Tensor.F32, at, w.data().getAtIndex(Tensor.F32, at) + scale * delta);
                    }
            }
        return out;
    }

    /** A stable fingerprint of the base model's architecture: an adapter only loads onto the model it was made for. */
    public static String hash(Record base) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(base.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the directory; each file is written atomically. */
    public void save(Path dir) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        params.values().forEach(p -> tensors.put(p.name, p.valueTensor()));
        SafeTensorsWriter.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt", "producer", LIBRARY));
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.createObjectNode();
        cfg.put("peft_type", "STATETUNE");
        cfg.set("methods", json.valueToTree(methods.stream().map(m -> m.cliName).toList()));
        cfg.set("options", json.valueToTree(options));
        cfg.put("base_model_config_hash", baseConfigHash);
        cfg.put("library", LIBRARY);
        cfg.put("trainable_parameters", parameterCount());
        try {
            Path tmp = Files.createTempFile(dir, "." + CONFIG, ".tmp");
            Files.writeString(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
            Files.move(tmp, dir.resolve(CONFIG), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new StatetuneException(dir.resolve(CONFIG) + ": cannot write (" + e.getMessage() + ")");
        }
    }

    /** Reads an adapter directory made for this base model; another base model is an error. */
    public static Adapter load(Path dir, LanguageModel model) {
        Record base = model instanceof Mamba2LM m2 ? m2.config() : ((MambaLM) model).config();
        Path cfgFile = dir.resolve(CONFIG);
        JsonNode cfg = Checkpoint.readJson(cfgFile);
        String madeFor = cfg.path("base_model_config_hash").asText("");
        if (!madeFor.equals(hash(base)))
            throw new StatetuneException(cfgFile + ": this adapter was made for another base model (config hash "
                    + madeFor + ", this model's is " + hash(base) + ")");
        List<Method> methods = new ArrayList<>();
        cfg.path("methods").forEach(m -> methods.add(Method.parse(m.asText())));
        MethodOptions options;
        try {
            options = new ObjectMapper().treeToValue(cfg.path("options"), MethodOptions.class);
        } catch (IOException e) {
            throw new StatetuneException(cfgFile + ": malformed options (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        Adapter adapter = new Adapter(methods, options, model, 0);
        try (SafeTensors st = SafeTensors.open(dir.resolve(WEIGHTS))) {
            for (Parameter p : adapter.params.values()) {
                Tensor t = st.get(p.name);
                if (!java.util.Arrays.equals(t.shape(), p.shape))
                    throw new StatetuneException(dir.resolve(WEIGHTS) + ": " + p.name + " has shape " + java.util.Arrays.toString(t.shape())
                            + ", expected " + java.util.Arrays.toString(p.shape));
                System.arraycopy(t.toFloatArray(), 0, p.value, 0, p.value.length);
            }
        }
        return adapter;
    }
}
