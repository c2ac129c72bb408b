package dev.statetune.data.tasks;

import java.util.List;

/**
 * A split as read: the examples kept, and how many the task's length limit dropped (Spider's 1536
 * tokens, PAPER_NOTES "Data formats"; 0 for the other tasks).
 */
public record TaskSplit(List<TaskExample> examples, int droppedTooLong) {
    public TaskSplit {
        examples = List.copyOf(examples);
    }
}
