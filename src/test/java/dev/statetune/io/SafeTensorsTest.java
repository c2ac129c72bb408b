package dev.statetune.io;

import dev.statetune.StatetuneException;
import dev.statetune.tensor.DType;
import dev.statetune.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The safetensors reader and writer: a round trip, and one clear error for each kind of corruption. */
class SafeTensorsTest {
    @TempDir Path dir;

    @Test
    void roundTripKeepsNamesShapesTypesAndValues() {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", Tensor.of(new float[] {1.5f, -2f, 3.25f, 0f, 7f, 8f}, 2, 3));
        in.put("ids", new Tensor(MemorySegment.ofArray(new int[] {4, 5, 6}), DType.I32, 3));
        in.put("half", new Tensor(MemorySegment.ofArray(new short[] {(short) 0x3fc0, (short) 0xc000}), DType.BF16, 2));
        Path f = dir.resolve("t.safetensors");
        SafeTensorsWriter.write(f, in, Map.of("format", "pt"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals(in.keySet(), st.tensors().keySet());
            assertArrayEquals(new long[] {2, 3}, st.get("a").shape());
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 7f, 8f}, st.get("a").toFloatArray());
            assertEquals(6, st.get("ids").getLong(2));
            assertArrayEquals(new float[] {1.5f, -2f}, st.get("half").toFloatArray());
            assertEquals("pt", st.metadata().get("format"));
            assertEquals(0, (Files.size(f) - 8 - 24 - 12 - 4 - headerLength(f)) , "data follows the header without gaps");
        } catch (IOException e) {
            fail(e);
        }
    }

    private static long headerLength(Path f) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** A file with this header text and this many data bytes. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static void assertFails(Path f, String expected) {
        StatetuneException e = assertThrows(StatetuneException.class, () -> SafeTensors.open(f).close());
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "says '" + expected + "': " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test
    void fileShorterThanTheHeaderLength() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertFails(f, "truncated");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        Path f = dir.resolve("long.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000).array());
        assertFails(f, "points past the end");
    }

    @Test
    void headerNotJson() throws IOException {
        assertFails(file("{not json", 0), "not valid JSON");
    }

    @Test
    void offsetsOutsideTheData() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "outside the 8 data bytes");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlap");
    }

    @Test
    void unknownDtype() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "unknown dtype 'F8_E9'");
    }

    @Test
    void shapeDisagreesWithByteSize() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "span 8");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path f = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        try (SafeTensors st = SafeTensors.open(f)) {
            StatetuneException e = assertThrows(StatetuneException.class, () -> st.get("v"));
            assertEquals(f + ": missing tensor v", e.getMessage());
        }
    }
}
