package dev.statetune.data.tasks;

import dev.statetune.StatetuneException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A GLUE TSV file read as the GLUE loaders of Hugging Face datasets read it: tab-separated, no quoting
 * (MRPC and MNLI sentences contain bare quotes), a leading BOM dropped, empty lines skipped.
 */
final class Tsv {
    /** A data row and its 1-based line number in the file. */
    record Row(int line, String[] cells) {}

    final Path file;
    final List<String> header;
    final List<Row> rows;

    private Tsv(Path file, List<String> header, List<Row> rows) {
        this.file = file;
        this.header = header;
        this.rows = rows;
    }

    /**
     * Reads every row, checking each has the header's number of cells. {@code fixedHeader} names the
     * columns of a file without a header line (CoLA); null means the first line is the header.
     */
    static Tsv read(Path file, List<String> fixedHeader) {
        List<String> header = fixedHeader;
        List<Row> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) line = line.substring(1);
                if (line.isEmpty()) continue;
                String[] cells = line.split("\t", -1);
                if (header == null) {
                    header = List.of(cells);
                    continue;
                }
                if (cells.length != header.size())
                    throw new StatetuneException(file + ":" + lineNo + ": " + cells.length + " tab-separated cells, expected "
                            + header.size() + " (" + String.join(", ", header) + ")");
                rows.add(new Row(lineNo, cells));
            }
        } catch (NoSuchFileException e) {
            throw new StatetuneException(file + ": not found");
        } catch (CharacterCodingException e) {
            throw new StatetuneException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (header == null) throw new StatetuneException(file + ": empty file");
        return new Tsv(file, header, rows);
    }

    /** The index of a named column. */
    int column(String name) {
        int i = header.indexOf(name);
        if (i < 0) throw new StatetuneException(file + ":1: no column \"" + name + "\" in the header (" + String.join(", ", header) + ")");
        return i;
    }
}
