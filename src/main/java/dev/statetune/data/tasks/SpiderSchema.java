package dev.statetune.data.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.statetune.StatetuneException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Spider schemas from tables.json as the one-line strings of PAPER_NOTES "Data formats" (the authors'
 * SpiderDataset.get_schema / table_to_str in furiosa-ai/ssm-peft): per table
 * {@code name: col type ,  col type ,  foreign: col from tbl , col from tbl ,  primary: pk}, lower-cased,
 * tables joined by {@code " | "}, using the original (SQL) table and column names.
 *
 * <p>Where PAPER_NOTES is silent, the authors' code decides: items are separated by " ,  " (two spaces
 * after the comma) and the keys inside "foreign:" and "primary:" by " , "; "foreign:" and "primary:" are
 * always present, so a table without foreign keys reads {@code "foreign:  ,  primary: id"} and one without
 * a primary key ends in {@code "primary: "}; a foreign key is listed on the referencing table as the
 * referenced column and table; a composite primary key (a nested list in newer tables.json, which the
 * authors' code cannot read) lists its columns in order, like several single keys.
 */
final class SpiderSchema {
    private SpiderSchema() {}

    /** db_id → schema string for every database of a tables.json. */
    static Map<String, String> read(List<JsonRows.Row> databases) {
        Map<String, String> out = new HashMap<>();
        for (JsonRows.Row db : databases) out.put(db.text("db_id"), of(db));
        return out;
    }

    static String of(JsonRows.Row db) {
        List<String> tables = strings(db, db.array("table_names_original"));
        JsonNode columns = db.array("column_names_original"), types = db.array("column_types");
        if (columns.size() != types.size())
            throw new StatetuneException(db.where() + columns.size() + " columns but " + types.size() + " column types");
        int[] tableOf = new int[columns.size()];
        String[] columnName = new String[columns.size()];
        for (int c = 0; c < columns.size(); c++) {
            JsonNode col = columns.get(c);
            if (!col.isArray() || col.size() != 2 || !col.get(0).isInt() || !col.get(1).isTextual()
                    || col.get(0).intValue() < -1 || col.get(0).intValue() >= tables.size())
                throw new StatetuneException(db.where() + "column_names_original[" + c + "] is not [table index, name]");
            tableOf[c] = col.get(0).intValue();
            columnName[c] = col.get(1).textValue();
        }
        List<Integer> primary = new ArrayList<>();
        for (JsonNode key : db.array("primary_keys"))
            if (key.isArray()) for (JsonNode part : key) primary.add(columnIndex(db, part, columns.size()));
            else primary.add(columnIndex(db, key, columns.size()));
        List<int[]> foreign = new ArrayList<>();
        for (JsonNode pair : db.array("foreign_keys")) {
            if (!pair.isArray() || pair.size() != 2) throw new StatetuneException(db.where() + "a foreign key that is not [column, column]");
            foreign.add(new int[] {columnIndex(db, pair.get(0), columns.size()), columnIndex(db, pair.get(1), columns.size())});
        }

        List<String> out = new ArrayList<>(tables.size());
        for (int t = 0; t < tables.size(); t++) {
            List<String> items = new ArrayList<>();
            for (int c = 0; c < columns.size(); c++)
                if (tableOf[c] == t) items.add(columnName[c] + " " + types.get(c).asText());
            List<String> fks = new ArrayList<>();
            for (int[] fk : foreign)
                if (tableOf[fk[0]] == t) fks.add(columnName[fk[1]] + " from " + tables.get(tableOf[fk[1]]));
            List<String> pks = new ArrayList<>();
            for (int pk : primary) if (tableOf[pk] == t) pks.add(columnName[pk]);
            items.add("foreign: " + String.join(" , ", fks));
            items.add("primary: " + String.join(" , ", pks));
            out.add((tables.get(t) + ": " + String.join(" ,  ", items)).toLowerCase(Locale.ROOT));
        }
        return String.join(" | ", out);
    }

    private static int columnIndex(JsonRows.Row db, JsonNode key, int nColumns) {
        if (!key.isInt() || key.intValue() < 1 || key.intValue() >= nColumns)
            throw new StatetuneException(db.where() + "key " + key + " is not a column index");
        return key.intValue();
    }

    private static List<String> strings(JsonRows.Row db, JsonNode array) {
        List<String> out = new ArrayList<>(array.size());
        for (JsonNode v : array) {
            if (!v.isTextual()) throw new StatetuneException(db.where() + "a table name that is not a string");
            out.add(v.textValue());
        }
        return out;
    }
}
