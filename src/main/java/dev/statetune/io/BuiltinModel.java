package dev.statetune.io;

import dev.statetune.StatetuneException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The tiny Mamba bundled in the jar (hidden 96, 3 layers, 1000-token byte-level BPE): written by
 * transformers' save_pretrained after ~100 s of training on public-domain books
 * (scripts/reference/mamba1_fixtures.py). It makes the quick start work with no download.
 */
public final class BuiltinModel {
    public static final String DESCRIPTION = "built-in tiny Mamba (hidden 96, 3 layers, vocab 1000; "
            + "trained ~100 s on Project Gutenberg text by scripts/reference/mamba1_fixtures.py)";
    private static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json"};
    private static Path extracted;

    private BuiltinModel() {}

    /** A directory holding the built-in checkpoint (extracted from the jar once per process). */
    public static synchronized Path directory() {
        if (extracted != null) return extracted;
        try {
            Path dir = Files.createTempDirectory("statetune-tiny-mamba");
            for (String f : FILES) {
                try (InputStream in = BuiltinModel.class.getResourceAsStream("/dev/statetune/tiny-mamba/" + f)) {
                    if (in == null) throw new StatetuneException("the built-in model is missing from the jar: " + f);
                    Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
                dir.resolve(f).toFile().deleteOnExit();
            }
            dir.toFile().deleteOnExit();
            return extracted = dir;
        } catch (IOException e) {
            throw new StatetuneException("cannot extract the built-in model: " + e.getMessage());
        }
    }
}
