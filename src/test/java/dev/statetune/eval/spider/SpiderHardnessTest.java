package dev.statetune.eval.spider;

import dev.statetune.SharedData;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hand-counted queries for each level and each official quirk, then the published split of Spider dev. */
class SpiderHardnessTest {
    private static void check(String sql, int component1, int component2, int others, SpiderHardness level) {
        SpiderHardness.Counts counts = SpiderHardness.counts(sql);
        assertEquals(new SpiderHardness.Counts(component1, component2, others), counts, sql);
        assertEquals(level, SpiderHardness.of(counts), sql);
        assertEquals(level, SpiderHardness.of(sql), sql);
    }

    @Test
    void easy() {
        check("SELECT count(*) FROM singer", 0, 0, 0, SpiderHardness.EASY);
        check("SELECT name FROM singer WHERE age > 20;", 1, 0, 0, SpiderHardness.EASY);
        check("SELECT DISTINCT country FROM singer ORDER BY country", 1, 0, 0, SpiderHardness.EASY);
    }

    @Test
    void medium() {
        check("SELECT name , country FROM singer WHERE age > 20", 1, 0, 1, SpiderHardness.MEDIUM);
        check("SELECT T1.name FROM a AS T1 JOIN b AS T2 ON T1.id = T2.id WHERE T2.x = 'y'", 2, 0, 0, SpiderHardness.MEDIUM);
        check("SELECT name FROM t WHERE a = 1 OR b = 2", 2, 0, 1, SpiderHardness.MEDIUM);
        check("SELECT max(a) , min(a) FROM t", 0, 0, 2, SpiderHardness.MEDIUM);
    }

    @Test
    void hard() {
        check("SELECT a FROM t GROUP BY a ORDER BY count(*) DESC LIMIT 1", 3, 0, 0, SpiderHardness.HARD);
        check("SELECT name FROM t WHERE id IN (SELECT id FROM u WHERE x = 1 OR y = 2)", 1, 1, 0, SpiderHardness.HARD);
        check("SELECT a FROM t WHERE x = 1 INTERSECT SELECT a , b FROM t WHERE x = 2", 1, 1, 0, SpiderHardness.HARD);
        check("SELECT T1.a , T2.b , count(*) , max(c) FROM t AS T1 JOIN u AS T2 ON T1.id = T2.id GROUP BY T1.a , T2.b",
                2, 0, 3, SpiderHardness.HARD);
    }

    @Test
    void extra() {
        check("SELECT a , b FROM t WHERE x = 1 UNION SELECT a , b FROM u", 1, 1, 1, SpiderHardness.EXTRA);
        check("SELECT a FROM t WHERE x > (SELECT avg(x) FROM t) AND y BETWEEN (SELECT 1) AND (SELECT 2)", 1, 3, 1,
                SpiderHardness.EXTRA);
        check("SELECT T1.a FROM t AS T1 JOIN u AS T2 ON T1.id = T2.id JOIN v AS T3 ON T2.k = T3.k WHERE T3.z = 1"
                + " ORDER BY T1.a LIMIT 3", 5, 0, 0, SpiderHardness.EXTRA);
        check("SELECT max(a) , min(a) , name FROM t WHERE x LIKE '%y%'", 2, 0, 2, SpiderHardness.EXTRA);
        check("SELECT count(*) FROM (SELECT a FROM t INTERSECT SELECT a FROM u)", 0, 0, 0, SpiderHardness.EASY);
    }

    @Test
    void notBeforeTheOperatorCountsAsAnAggregationAsInTheOfficialCode() {
        check("SELECT count(*) FROM t WHERE a IN (SELECT a FROM u)", 1, 1, 0, SpiderHardness.HARD);
        check("SELECT count(*) FROM t WHERE a NOT IN (SELECT a FROM u)", 1, 1, 1, SpiderHardness.EXTRA);
        check("SELECT a FROM t WHERE avg_b > 3 AND c NOT LIKE 'x%'", 2, 0, 1, SpiderHardness.MEDIUM);
    }

    @Test
    void havingConnectorsCountAsAggregationsAndHavingAggregatesDoNot() {
        check("SELECT count(*) FROM t GROUP BY a HAVING sum(b) > 1", 1, 0, 0, SpiderHardness.EASY);
        check("SELECT count(*) FROM t GROUP BY a HAVING sum(b) > 1 AND max(c) < 2", 1, 0, 1, SpiderHardness.MEDIUM);
        check("SELECT count(*) FROM t GROUP BY a HAVING sum(b) > 1 OR max(c) < 2", 2, 0, 1, SpiderHardness.MEDIUM);
    }

    @Test
    void aColumnValueSwallowsWhatFollowsUpToTheNextAndAsParseValueDoes() {
        check("SELECT a FROM t AS T1 JOIN u AS T2 ON T1.x = T2.y OR T1.x = T2.z", 1, 0, 0, SpiderHardness.EASY);
        check("SELECT a FROM t WHERE b = c OR d = 1 AND e = 2", 1, 0, 1, SpiderHardness.MEDIUM);
    }

    @Test
    void sqlOutsideTheSubsetIsRefusedWithTheToken() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SpiderHardness.of("SELECT a FROM"));
        assertEquals("unexpected end of query", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SpiderHardness.of("DELETE FROM t"));
        assertThrows(IllegalArgumentException.class, () -> SpiderHardness.of("SELECT a FROM t WHERE b"));
    }

    @Test
    void spiderDevSplitsAsPublished() throws IOException {
        JsonNode dev = new ObjectMapper().readTree(SharedData.path("spider").resolve("dev.json").toFile());
        Map<SpiderHardness, Integer> split = new EnumMap<>(SpiderHardness.class);
        for (JsonNode example : dev) split.merge(SpiderHardness.of(example.get("query").asText()), 1, Integer::sum);
        assertEquals(Map.of(SpiderHardness.EASY, 248, SpiderHardness.MEDIUM, 446, SpiderHardness.HARD, 174,
                SpiderHardness.EXTRA, 166), split);
    }
}
