package dev.statetune.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.io.BuiltinModel;
import dev.statetune.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** `statetune tokenize`: text to a JSON list of ids, or (--decode) ids back to text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode text into token ids (a JSON list), or decode ids into text.")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "a Hugging Face tokenizer.json (default: the built-in model's)")
    Path tokenizer;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", required = true, description = "text to encode") String text;
        @Option(names = "--decode", paramLabel = "IDS", required = true, split = ",", description = "comma-separated ids to decode") int[] ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "1") Input input;

    @Option(names = "--skip-special-tokens", description = "with --decode: leave special tokens such as <|endoftext|> out")
    boolean skipSpecial;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok = Tokenizer.load(tokenizer != null ? tokenizer : BuiltinModel.directory().resolve("tokenizer.json"));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (input.text != null) {
            out.println(new ObjectMapper().writeValueAsString(tok.encode(input.text)));
        } else {
            out.println(tok.decode(input.ids, skipSpecial));
        }
        return 0;
    }
}
