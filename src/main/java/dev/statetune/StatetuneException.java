package dev.statetune;

/**
 * A problem with the user's input (a file, a flag, an id): the CLI prints its message as one line
 * and exits with code 1. The message names the file (or flag) and says what is wrong with it.
 */
public class StatetuneException extends RuntimeException {
    public StatetuneException(String message) {
        super(message);
    }

    public StatetuneException(String message, Throwable cause) {
        super(message, cause);
    }
}
