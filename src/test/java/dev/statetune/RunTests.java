package dev.statetune;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;
import java.util.Arrays;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs the named test classes without Maven, for machines that have only a Java runtime (the GPU
 * machine): {@code java -cp 'app/*' dev.statetune.RunTests dev.statetune.backend.cuda.CudaBackendTest}.
 * Prints every test's outcome and the summary; exits 1 when a test failed.
 */
public final class RunTests {
    public static void main(String[] classNames) throws ClassNotFoundException {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String name : classNames) request.selectors(selectClass(Class.forName(name)));
        LauncherDiscoveryRequest built = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(built, summary, new org.junit.platform.launcher.TestExecutionListener() {
            @Override
            public void executionFinished(org.junit.platform.launcher.TestIdentifier id, org.junit.platform.engine.TestExecutionResult result) {
                if (id.isTest()) System.out.println(result.getStatus() + "  " + id.getDisplayName() + "  " + id.getUniqueId().replaceAll(".*class:([^/]*)\\].*", "$1"));
            }

            @Override
            public void executionSkipped(org.junit.platform.launcher.TestIdentifier id, String reason) {
                System.out.println("SKIPPED  " + id.getDisplayName() + ": " + reason);
            }
        });
        TestExecutionSummary s = summary.getSummary();
        s.printFailuresTo(new PrintWriter(System.out), 30);
        s.printTo(new PrintWriter(System.out));
        System.out.println("classes: " + Arrays.toString(classNames));
        System.exit(s.getTotalFailureCount() + s.getContainersFailedCount() > 0 ? 1 : 0);
    }
}
