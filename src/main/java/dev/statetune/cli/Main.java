package dev.statetune.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `statetune` command: subcommands are thin wrappers over the library. */
@Command(name = "statetune", mixinStandardHelpOptions = true, version = "statetune 0.1.0",
        description = "Parameter-efficient fine-tuning of Mamba state space models (State-offset Tuning).")
public final class Main {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
