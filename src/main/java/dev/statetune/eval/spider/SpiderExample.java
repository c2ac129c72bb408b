package dev.statetune.eval.spider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One Spider question with its database and gold SQL, as the official dev.json / train_spider.json hold them. */
public record SpiderExample(String dbId, String question, String query) {
    /** Reads the official JSON array; other fields (query_toks, sql, …) are ignored. */
    public static List<SpiderExample> load(Path json) throws IOException {
        List<SpiderExample> out = new ArrayList<>();
        for (JsonNode e : new ObjectMapper().readTree(json.toFile())) {
            out.add(new SpiderExample(e.path("db_id").asText(), e.path("question").asText(), e.path("query").asText()));
        }
        return out;
    }
}
