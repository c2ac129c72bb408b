package dev.statetune.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.statetune.StatetuneException;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file (https://github.com/huggingface/safetensors: u64 header size,
 * JSON header, raw little-endian data). Tensors are views into the mapping, never copied; the
 * header is validated in full so that a corrupt file fails here with one line naming the problem.
 */
public final class SafeTensors implements AutoCloseable {
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path file;
    private final Arena arena;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensors open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (IOException e) {
                throw new StatetuneException(file + ": cannot read (" + e.getMessage() + ")");
            }
            return parse(file, arena, all);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafeTensors parse(Path file, Arena arena, MemorySegment all) {
        long size = all.byteSize();
        if (size < 8) throw bad(file, "truncated: " + size + " bytes, too short for the 8-byte header length");
        long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8)
            throw bad(file, "header length " + Long.toUnsignedString(headerLen) + " points past the end of the file (" + size + " bytes)");
        String json = new String(all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        JsonNode header;
        try {
            header = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw bad(file, "header is not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (header == null || !header.isObject()) throw bad(file, "header is not a JSON object");
        MemorySegment data = all.asSlice(8 + headerLen);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            String name = e.getKey();
            JsonNode spec = e.getValue();
            if (name.equals("__metadata__")) {
                spec.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String dtypeName = spec.path("dtype").asText("");
            DType dtype = DType.fromSafetensors(dtypeName)
                    .orElseThrow(() -> bad(file, "tensor " + name + " has unknown dtype '" + dtypeName + "'"));
            JsonNode shapeNode = spec.path("shape"), offsets = spec.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2)
                throw bad(file, "tensor " + name + " lacks a shape or a [begin, end] data_offsets");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) throw bad(file, "tensor " + name + " has a negative or non-integer dimension");
            }
            long begin = offsets.get(0).asLong(-1), end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > data.byteSize())
                throw bad(file, "tensor " + name + " has data offsets [" + begin + ", " + end + "] outside the "
                        + data.byteSize() + " data bytes (truncated file?)");
            long expected;
            try {
                expected = Math.multiplyExact(Tensor.numel(shape), dtype.bytes);
            } catch (ArithmeticException overflow) {
                throw bad(file, "tensor " + name + " has an impossibly large shape");
            }
            if (end - begin != expected)
                throw bad(file, "tensor " + name + " is " + dtype + java.util.Arrays.toString(shape) + " = " + expected
                        + " bytes but its data offsets span " + (end - begin));
            tensors.put(name, new Tensor(data.asSlice(begin, end - begin), dtype, shape));
            ranges.add(new long[] {begin, end});
            rangeNames.add(name);
        }
        checkNoOverlap(file, ranges, rangeNames);
        return new SafeTensors(file, arena, Collections.unmodifiableMap(tensors), metadata);
    }

    private static void checkNoOverlap(Path file, List<long[]> ranges, List<String> names) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) order.add(i);
        order.sort(Comparator.comparingLong(i -> ranges.get(i)[0]));
        for (int j = 1; j < order.size(); j++) {
            long[] prev = ranges.get(order.get(j - 1)), cur = ranges.get(order.get(j));
            if (cur[0] < prev[1] && cur[1] > cur[0] && prev[1] > prev[0])
                throw bad(file, "tensors " + names.get(order.get(j - 1)) + " and " + names.get(order.get(j)) + " overlap");
        }
    }

    private static StatetuneException bad(Path file, String problem) {
        return new StatetuneException(file + ": " + problem);
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    public Path file() { return file; }
    public Map<String, Tensor> tensors() { return tensors; }
    public Map<String, String> metadata() { return metadata; }

    /** The tensor called name; a missing one is an error that names the file. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new StatetuneException(file + ": missing tensor " + name);
        return t;
    }

    @Override
    public void close() {
        arena.close();
    }
}
