package dev.statetune.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.statetune.StatetuneException;
import dev.statetune.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes tensors as a safetensors file, atomically: into a temporary file beside the target, then
 * renamed over it, so a crash never leaves a half-written file under the real name.
 */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {}

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) header.set("__metadata__", json.valueToTree(metadata));
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode spec = header.putObject(e.getKey());
            spec.put("dtype", t.dtype().safetensorsName);
            spec.set("shape", json.valueToTree(t.shape()));
            long bytes = t.data().byteSize();
            spec.set("data_offsets", json.valueToTree(new long[] {offset, offset + bytes}));
            offset += bytes;
        }
        byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8; // keeps the data 8-byte aligned, as the reference writer does
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
                out.write(headerBytes);
                for (int i = headerBytes.length; i < padded; i++) out.write(' ');
                byte[] buf = new byte[1 << 20];
                for (Tensor t : tensors.values()) {
                    for (long pos = 0, n = t.data().byteSize(); pos < n; pos += buf.length) {
                        int len = (int) Math.min(buf.length, n - pos);
                        java.lang.foreign.MemorySegment.copy(t.data(), ValueLayout.JAVA_BYTE, pos, buf, 0, len);
                        out.write(buf, 0, len);
                    }
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new StatetuneException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }
}
