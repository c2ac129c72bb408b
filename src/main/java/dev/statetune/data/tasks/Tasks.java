package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The tasks of the State-offset Tuning paper by name ("glue/rte", "samsum", "spider", "dart"). */
public final class Tasks {
    private static final Map<String, Task> BY_NAME = new LinkedHashMap<>();

    static {
        for (GlueTask t : GlueTask.ALL) BY_NAME.put(t.name(), t);
        for (Task t : List.of(new SamsumTask(), new SpiderTask(), new DartTask())) BY_NAME.put(t.name(), t);
    }

    private Tasks() {}

    /** @throws StatetuneException listing the known names when there is no such task */
    public static Task byName(String name) {
        Task task = BY_NAME.get(name);
        if (task == null) throw new StatetuneException("unknown task \"" + name + "\" (tasks: " + String.join(", ", names()) + ")");
        return task;
    }

    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }
}
