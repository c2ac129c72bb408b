package dev.statetune.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.statetune.cli.CliErrorsTest.assertUserError;
import static dev.statetune.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.*;

/** `statetune train` end to end on the built-in model: the run directory, the adapter in use, bad input. */
class TrainCliTest {
    @TempDir Path dir;

    private Path data() throws IOException {
        Path f = dir.resolve("train.jsonl");
        Files.writeString(f, """
                {"prompt": "The sea was", "completion": " calm"}
                {"prompt": "Call me", "completion": " Ishmael"}
                {"prompt": "It was the best of times,", "completion": " it was the worst of times"}
                """);
        return f;
    }

    @Test
    void trainWritesARunDirectoryAndGenerateUsesTheAdapter() throws IOException {
        Path out = dir.resolve("run");
        var r = run("train", "--method", "state-offset-h,state-offset-y", "--data", data().toString(), "--eval-data", data().toString(),
                "--out", out.toString(), "--max-steps", "3", "--batch-size", "2", "--lr", "1e-2", "--eval-every", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("steps 3, train loss"), r.out());
        assertTrue(r.out().contains("eval loss"), r.out());
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "checkpoint/params.safetensors"})
            assertTrue(Files.exists(out.resolve(f)), f);
        String config = Files.readString(out.resolve("adapter_config.json"));
        assertTrue(config.contains("\"state-offset-h\"") && config.contains("base_model_config_hash"), config);
        assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());

        var plain = run("generate", "--prompt", "The sea was", "--max-new-tokens", "6");
        var tuned = run("generate", "--prompt", "The sea was", "--max-new-tokens", "6", "--adapter", out.toString());
        assertEquals(0, tuned.code(), tuned.err());
        assertNotEquals(plain.out(), tuned.out(), "the adapter changes the continuation");

        var resumed = run("train", "--method", "state-offset-h,state-offset-y", "--data", data().toString(),
                "--out", out.toString(), "--max-steps", "5", "--batch-size", "2", "--lr", "1e-2", "--resume");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("resuming"), resumed.err());
    }

    @Test
    void malformedRowNamesFileAndLine() throws IOException {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"\n");
        assertUserError(run("train", "--method", "state-offset-h", "--data", f.toString(), "--out", dir.resolve("r").toString(),
                "--max-steps", "1"), "bad.jsonl:2");
    }

    @Test
    void unknownMethodsAndImpossibleCompositionsAreClearErrors() throws IOException {
        assertUserError(run("train", "--method", "nope", "--data", data().toString(), "--out", dir.resolve("r").toString()),
                "unknown method 'nope'");
        assertUserError(run("train", "--method", "additional-scan,state-offset-h", "--data", data().toString(), "--out", dir.resolve("r").toString()),
                "does not compose");
    }

    @Test
    void taskTrainingReadsTheTrainSplitAndTakesThePapersRecipe() {
        Path rte = dev.statetune.SharedData.path("glue/RTE");
        var r = run("train", "--task", "glue/rte", "--data", rte.toString(), "--method", "state-offset-h", "--out", dir.resolve("rte").toString(),
                "--max-steps", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("2490 examples"), r.err());
        assertTrue(r.err().contains("recipe: lr 1.0e-03, batch 4, 10 epochs"), r.err());
        assertUserError(run("train", "--task", "glue/rte", "--data", rte.toString(), "--method", "prefix", "--out", dir.resolve("p").toString()),
                "no learning rate", "pass --lr");
    }
}
