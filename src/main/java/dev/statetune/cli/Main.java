package dev.statetune.cli;

import dev.statetune.StatetuneException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The `statetune` command: subcommands are thin wrappers over the library. Results go to stdout,
 * logs and progress to stderr; exit 0 on success, 1 for bad input (one line naming the file and
 * the problem), 2 for bad usage.
 */
@Command(name = "statetune", mixinStandardHelpOptions = true, version = "statetune 0.1.0",
        description = "Parameter-efficient fine-tuning of Mamba state space models (State-offset Tuning).",
        subcommands = {InfoCommand.class, TokenizeCommand.class, GenerateCommand.class, LogitsCommand.class,
                ParamsCommand.class, TrainCommand.class, EvalCommand.class, MergeCommand.class, DemoCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            if (e instanceof StatetuneException) {
                err.println("statetune: " + e.getMessage());
            } else {
                boolean debug = System.getenv("STATETUNE_DEBUG") != null;
                err.println("statetune: internal error: " + e + (debug ? "" : " (set STATETUNE_DEBUG=1 for the stack trace)"));
                if (debug) e.printStackTrace(err);
            }
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }
}
