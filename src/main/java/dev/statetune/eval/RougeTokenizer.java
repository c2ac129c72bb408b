package dev.statetune.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * rouge_score's default tokenizer ({@code rouge_score.tokenize.tokenize}): lowercase, every character
 * outside [a-z0-9] becomes a space, split on whitespace, and with the stemmer on, Porter-stem (NLTK mode)
 * the tokens longer than three characters.
 */
public final class RougeTokenizer {
    private final PorterStemmer stemmer;

    public RougeTokenizer(boolean useStemmer) {
        this.stemmer = useStemmer ? new PorterStemmer() : null;
    }

    public List<String> tokenize(String text) {
        // Python's str.lower, then the ASCII filter: anything whose lowercase is not [a-z0-9] separates tokens.
        String lower = text.toLowerCase(java.util.Locale.ROOT);
        List<String> tokens = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= lower.length(); i++) {
            char c = i < lower.length() ? lower.charAt(i) : ' ';
            boolean keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (keep && start < 0) start = i;
            if (!keep && start >= 0) {
                String token = lower.substring(start, i);
                tokens.add(stemmer != null && token.length() > 3 ? stemmer.stem(token) : token);
                start = -1;
            }
        }
        return tokens;
    }
}
