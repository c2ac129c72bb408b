package dev.statetune.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Finds added tokens in text with leftmost-longest semantics (the earliest starting match, and of
 * those the longest), as the Aho-Corasick automaton of Hugging Face's AddedVocabulary does. A
 * plain trie walked from each position suffices: added tokens are few and short.
 */
final class TokenTrie {
    /** Returned by {@link #find} when nothing matches. */
    static final long NO_MATCH = -1;

    private char[][] keys = new char[1][0]; // per node: the characters of its children
    private int[][] children = new int[1][0]; // per node: the child nodes, parallel to keys
    private int[] pattern = {-1}; // per node: the index of the pattern ending there, or -1
    private int nodes = 1;

    TokenTrie(List<String> patterns) {
        for (int p = 0; p < patterns.size(); p++) {
            int node = 0;
            for (char c : patterns.get(p).toCharArray()) {
                node = childOrAdd(node, c);
            }
            pattern[node] = p;
        }
    }

    /**
     * The first match at or after {@code from}: (start << 32 | index of the pattern in the
     * constructor's list), or {@link #NO_MATCH}.
     */
    long find(String text, int from) {
        for (int start = from; start < text.length(); start++) {
            int node = 0;
            int longest = -1;
            for (int i = start; i < text.length(); i++) {
                node = child(node, text.charAt(i));
                if (node < 0) {
                    break;
                }
                if (pattern[node] >= 0) {
                    longest = pattern[node];
                }
            }
            if (longest >= 0) {
                return (long) start << 32 | longest;
            }
        }
        return NO_MATCH;
    }

    private int child(int node, char c) {
        char[] k = keys[node];
        for (int i = 0; i < k.length; i++) {
            if (k[i] == c) {
                return children[node][i];
            }
        }
        return -1;
    }

    private int childOrAdd(int node, char c) {
        int existing = child(node, c);
        if (existing >= 0) {
            return existing;
        }
        if (nodes == pattern.length) {
            keys = Arrays.copyOf(keys, nodes * 2);
            children = Arrays.copyOf(children, nodes * 2);
            pattern = Arrays.copyOf(pattern, nodes * 2);
        }
        int created = nodes++;
        keys[created] = new char[0];
        children[created] = new int[0];
        pattern[created] = -1;
        keys[node] = Arrays.copyOf(keys[node], keys[node].length + 1);
        keys[node][keys[node].length - 1] = c;
        children[node] = Arrays.copyOf(children[node], children[node].length + 1);
        children[node][children[node].length - 1] = created;
        return created;
    }
}
