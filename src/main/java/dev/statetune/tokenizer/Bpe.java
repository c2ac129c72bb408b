package dev.statetune.tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The byte-level BPE model: a word's UTF-8 bytes start as one symbol each and the adjacent pair
 * with the lowest merge rank is merged, leftmost first on ties, until no pair has a rule. Mirrors
 * Hugging Face's {@code BPE::merge_word} and {@code Word::merge_all} (without dropout).
 */
final class Bpe {
    /** Words at least this long are not cached (Hugging Face uses the same bound, in bytes). */
    private static final int MAX_CACHED_LENGTH = 256;
    /** Entries kept before the cache is emptied; a corpus's frequent words fill it again quickly. */
    private static final int CACHE_CAPACITY = 100_000;

    private final Map<String, Integer> vocab;
    private final int[] byteIds; // byte -> id of its stand-in character, -1 if not in the vocabulary
    private final MergeTable merges;
    private final int unkId; // -1: characters outside the vocabulary are dropped, as in HF
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs of token strings in rank order
     * @throws IllegalArgumentException naming the merge or token that is not in the vocabulary
     */
    Bpe(Map<String, Integer> vocab, List<String[]> merges, String unkToken, boolean fuseUnk, boolean ignoreMerges) {
        this.vocab = vocab;
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = vocab.getOrDefault(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]), -1);
        }
        this.merges = new MergeTable(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = merges.get(rank);
            this.merges.put(idOf(pair[0], rank), idOf(pair[1], rank), rank, idOf(pair[0] + pair[1], rank));
        }
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            throw new IllegalArgumentException("unk_token \"" + unkToken + "\" is not in the vocabulary");
        }
        this.unkId = unkToken == null ? -1 : vocab.get(unkToken);
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
    }

    private int idOf(String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("merge " + (rank + 1) + " uses \"" + token + "\", which is not in the vocabulary");
        }
        return id;
    }

    /** Appends the ids of {@code text[start, end)}, one pre-tokenized word, to {@code out}. */
    void encodeWord(String text, int start, int end, IntList out) {
        if (end - start >= MAX_CACHED_LENGTH) {
            out.addAll(merge(Utf8.encode(text, start, end)));
            return;
        }
        String word = text.substring(start, end);
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = merge(Utf8.encode(text, start, end));
            if (cache.size() >= CACHE_CAPACITY) {
                cache.clear();
            }
            cache.put(word, ids);
        }
        out.addAll(ids);
    }

    private int[] merge(byte[] bytes) {
        if (ignoreMerges) {
            Integer whole = vocab.get(byteLevelString(bytes));
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = initialSymbols(bytes);
        int n = symbols.length;
        if (n < 2) {
            return symbols;
        }
        // Doubly linked list over the positions; a merged-away position gets id -1.
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // Min-heap of (rank << 32 | position): lowest rank first, then leftmost. Each merge pushes
        // at most two new candidates, so 3n slots always suffice.
        long[] heap = new long[3 * n];
        int heapSize = 0;
        for (int i = 0; i + 1 < n; i++) {
            long rule = merges.find(symbols[i], symbols[i + 1]);
            if (rule != MergeTable.NONE) {
                heapSize = push(heap, heapSize, (rule & 0xFFFFFFFF00000000L) | i);
            }
        }
        int remaining = n;
        while (heapSize > 0) {
            long top = heap[0];
            heapSize = pop(heap, heapSize);
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[pos];
            if (symbols[pos] < 0 || right < 0) {
                continue;
            }
            long rule = merges.find(symbols[pos], symbols[right]);
            // A stale candidate: one of the two symbols has grown since it was pushed.
            if (rule == MergeTable.NONE || (int) (rule >>> 32) != rank) {
                continue;
            }
            symbols[pos] = (int) rule;
            symbols[right] = -1;
            remaining--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                long left = merges.find(symbols[prev[pos]], symbols[pos]);
                if (left != MergeTable.NONE) {
                    heapSize = push(heap, heapSize, (left & 0xFFFFFFFF00000000L) | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long after = merges.find(symbols[pos], symbols[next[pos]]);
                if (after != MergeTable.NONE) {
                    heapSize = push(heap, heapSize, (after & 0xFFFFFFFF00000000L) | pos);
                }
            }
        }
        int[] ids = new int[remaining];
        for (int i = 0, k = 0; i >= 0; i = next[i]) {
            ids[k++] = symbols[i];
        }
        return ids;
    }

    /** One symbol per byte; bytes whose stand-in is not in the vocabulary become unk or vanish. */
    private int[] initialSymbols(byte[] bytes) {
        int[] symbols = new int[bytes.length];
        int n = 0;
        boolean lastWasUnk = false;
        for (byte b : bytes) {
            int id = byteIds[b & 0xFF];
            if (id >= 0) {
                symbols[n++] = id;
                lastWasUnk = false;
            } else if (unkId >= 0) {
                if (!(fuseUnk && lastWasUnk)) {
                    symbols[n++] = unkId;
                }
                lastWasUnk = true;
            }
        }
        return n == symbols.length ? symbols : Arrays.copyOf(symbols, n);
    }

    private static String byteLevelString(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = ByteLevel.BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    private static int push(long[] heap, int size, long value) {
        int i = size;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= value) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = value;
        return size + 1;
    }

    private static int pop(long[] heap, int size) {
        long last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= last) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return size;
    }
}
