"""CLIP's byte-level BPE tokenizer, written from the format of its vocabulary file.

The vocabulary file (bpe_simple_vocab_16e6.txt.gz) holds a version line and then one merge
per line ("t h"). CLIP keeps the first 48,894 merges; its 49,408 ids are, in order: the 256
byte symbols, the same symbols with the end-of-word mark "</w>", one id per kept merge,
then <|startoftext|> (49406) and <|endoftext|> (49407). Text is lower-cased, white space is
collapsed, and words are split by the pattern below before each is merged greedily (lowest
merge rank first). Only what the demo's captions need is handled: no ftfy repair, no HTML
unescaping (captions are plain ASCII).
"""
import gzip

import regex

START_ID = 49406
END_ID = 49407
VOCAB_SIZE = 49408
_KEPT_MERGES = VOCAB_SIZE - 256 * 2 - 2
_WORD_PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


def _byte_symbols():
    """Byte value -> printable character, the byte-level alphabet GPT-2 and CLIP share:
    printable Latin-1 bytes map to themselves, the others to 256 + n in byte order. The
    dict's insertion order (printable bytes first) is the order of the first 256 ids."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) +
                 list(range(ord("\xae"), ord("\xff") + 1)))
    symbols = {value: chr(value) for value in printable}
    others = [value for value in range(256) if value not in symbols]
    for n, value in enumerate(others):
        symbols[value] = chr(256 + n)
    return symbols


class ClipBpe:
    def __init__(self, vocabulary_path):
        with gzip.open(vocabulary_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1:1 + _KEPT_MERGES]]
        self.byte_symbols = _byte_symbols()
        alphabet = list(self.byte_symbols.values())
        tokens = alphabet + [s + "</w>" for s in alphabet] + ["".join(m) for m in merges]
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        assert len(tokens) == VOCAB_SIZE, len(tokens)
        self.ids = {token: i for i, token in enumerate(tokens)}
        self.ranks = {merge: rank for rank, merge in enumerate(merges)}
        self.memo = {}

    def _merge_word(self, word):
        """A word's byte symbols, merged pair by pair in rank order; the last symbol carries
        the end-of-word mark."""
        if word in self.memo:
            return self.memo[word]
        symbols = [self.byte_symbols[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        while len(symbols) > 1:
            pairs = [(self.ranks.get((a, b), None), i)
                     for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            ranked = [(rank, i) for rank, i in pairs if rank is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            merged = []
            i = 0
            while i < len(symbols):
                if (i + 1 < len(symbols) and
                        self.ranks.get((symbols[i], symbols[i + 1])) == best):
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self.memo[word] = symbols
        return symbols

    def encode(self, text):
        """Token ids of `text`, without start and end tokens."""
        text = " ".join(text.split()).lower()
        ids = []
        for word in _WORD_PATTERN.findall(text):
            ids.extend(self.ids[s] for s in self._merge_word(word))
        return ids

    def tokenize(self, texts, context_length=77):
        """[len(texts), context_length] int64 lists: start, ids, end, zero padding. Raises
        ValueError for a text that does not fit."""
        rows = []
        for text in texts:
            ids = [START_ID] + self.encode(text) + [END_ID]
            if len(ids) > context_length:
                raise ValueError(f"'{text}' needs {len(ids)} tokens, more than {context_length}")
            rows.append(ids + [0] * (context_length - len(ids)))
        return rows
