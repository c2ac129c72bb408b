package dev.statetune;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of long work on stderr (training steps, evaluated examples): done/total, a detail the
 * caller composes (loss, lr, tokens/s) and the ETA. A live bar
 * (me.tongfei:progressbar) when stderr is a terminal; otherwise plain lines (logs, CI, nohup) at
 * most every {@link #PLAIN_INTERVAL}, plus the first and the last step.
 */
public final class Progress implements AutoCloseable {
    static final Duration PLAIN_INTERVAL = Duration.ofSeconds(10);

    private final String task;
    private final int totalSteps, startStep;
    private final ProgressBar bar; // null in plain mode
    private final PrintStream plain;
    private final LongSupplier nanoTime;
    private final long startNanos;
    private long lastPrintNanos;
    private boolean printedAny;

    /**
     * {@code task} names the work ("train", "eval"); starts at {@code startStep} (non-zero when resuming)
     * so that the ETA counts only this run's pace.
     */
    public Progress(String task, int totalSteps, int startStep) {
        this(task, totalSteps, startStep, stderrIsTerminal() ? null : System.err, System::nanoTime);
    }

    Progress(String task, int totalSteps, int startStep, PrintStream plain, LongSupplier nanoTime) {
        this.task = task;
        this.totalSteps = totalSteps;
        this.startStep = startStep;
        this.plain = plain;
        this.nanoTime = nanoTime;
        this.startNanos = nanoTime.getAsLong();
        this.bar = plain != null ? null : new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalSteps)
                .startsFrom(startStep, Duration.ZERO)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
    }

    /** Reports that {@code step} units of work are done; detail says how it goes (e.g. "loss 1.2 lr 2e-4"). */
    public void update(int step, String detail) {
        if (bar != null) {
            bar.stepTo(step);
            bar.setExtraMessage(detail);
            return;
        }
        long now = nanoTime.getAsLong();
        if (printedAny && step < totalSteps && now - lastPrintNanos < PLAIN_INTERVAL.toNanos()) return;
        printedAny = true;
        lastPrintNanos = now;
        Duration elapsed = Duration.ofNanos(now - startNanos);
        Duration eta = step > startStep ? elapsed.multipliedBy(totalSteps - step).dividedBy(step - startStep) : null;
        plain.println(line(task, step, totalSteps, detail, eta));
    }

    static String line(String task, int step, int total, String detail, Duration eta) {
        return String.format(Locale.ROOT, "%s %d/%d  %s  eta %s", task, step, total, detail, eta == null ? "?" : hms(eta));
    }

    static String hms(Duration d) {
        long s = d.toSeconds();
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    /**
     * Java can only ask whether stdin and stdout are a terminal; on Linux the target of fd 2 says it
     * for stderr itself (so `statetune train --json > out.json` still gets a bar).
     */
    private static boolean stderrIsTerminal() {
        Path fd2 = Path.of("/proc/self/fd/2");
        try {
            String target = Files.readSymbolicLink(fd2).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (java.io.IOException | UnsupportedOperationException notLinux) {
            return System.console() != null && System.console().isTerminal();
        }
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
