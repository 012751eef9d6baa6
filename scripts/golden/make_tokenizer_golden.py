#!/usr/bin/env python3
"""Regenerates tests/data/tokenizer_golden.json from the authors' reference code.

The reference is imported from --reference (a checkout holding clip/ and clip_text.py) and
only called, never copied: its tokenizer encodes every prompt, its
encode_text_with_prompt_ensemble supplies the 85 templates, and its compiled regex and
cleaning functions are probed code point by code point.

ftfy is not installable here. The C++ tokenizer models ftfy.fix_text as NFC normalisation
(what ftfy does to text that needs no repair), so by default this script installs an NFC
stand-in under the name `ftfy` before importing the reference; --ftfy real uses whatever
`ftfy` is importable (the data then holds that ftfy's behaviour).

Usage (Debian's python3 has torch and regex):
  python3 scripts/golden/make_tokenizer_golden.py --reference /tmp/ref \
      [--bpe /work/shared/clip/bpe_simple_vocab_16e6.txt.gz] [--output tests/data/tokenizer_golden.json]

Data layout (ids exclude start/end tokens unless said otherwise):
  templates        the 85 prompt templates, in order
  template_ids     per template: [ids of the text before "{}", ids of the text after]
  vocabularies     name -> {classes, background}, as classify.py builds them
  class_ids        class or background name -> ids
  prompt_exceptions  [template index, name, ids] for every prompt template.format(name)
                   whose ids are NOT prefix + class + suffix; every other prompt's ids are
                   exactly that concatenation (checked here against the reference)
  cases            [text, ids] edge cases and seeded random strings
  tokenize_cases   [text, context_length, truncate, tokens or null for an error];
                   tokens are clip.tokenize's row without its zero padding
  char_classes     [first code point, kind] runs; kind is how the pre-tokenizing regex
                   treats one code point: L (joins a letter run), N (a token on its own),
                   O (joins a punctuation run), S (skipped: whitespace or unmatched)
  cleaned          [code point, text] for each code point that whitespace_clean(
                   basic_clean(c)).lower() changes
"""
import argparse
import hashlib
import json
import os
import random
import sys
import types
import unicodedata


def install_nfc_ftfy():
    shim = types.ModuleType("ftfy")
    shim.fix_text = lambda text: unicodedata.normalize("NFC", text)
    sys.modules["ftfy"] = shim


def capture_templates(clip_module):
    """The templates encode_text_with_prompt_ensemble uses, via a recording tokenize."""
    import torch

    captured = []
    original = clip_module.clip.tokenize

    def recording_tokenize(texts, *args, **kwargs):
        captured.extend(texts)
        return original(texts, *args, **kwargs)

    class RecordingModel:
        def encode_text(self, tokens):
            return torch.ones(tokens.shape[0], 4)

    clip_module.clip.tokenize = recording_tokenize
    try:
        # "{}".format of the literal "{}" gives each template back unchanged.
        clip_module.encode_text_with_prompt_ensemble(RecordingModel(), ["{}"], "cpu")
    finally:
        clip_module.clip.tokenize = original
    return captured


def build_vocabularies(clip_text):
    # classify.py's cocostuff list: the 182-entry dict without these keys.
    skipped = [0, 12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]
    stuff = [name for key, name in clip_text.class_names_coco_stuff182_dict.items() if key not in skipped]
    return {
        "voc": {"classes": list(clip_text.class_names_voc), "background": list(clip_text.BACKGROUND_CATEGORY_VOC)},
        "coco": {"classes": list(clip_text.class_names_coco), "background": list(clip_text.BACKGROUND_CATEGORY_COCO)},
        "cocostuff": {"classes": stuff, "background": []},
    }


def tokenize_rows(clip_module, texts, context_length=77, truncate=False):
    rows = clip_module.tokenize(texts, context_length=context_length, truncate=truncate).tolist()
    out = []
    for row in rows:
        while row and row[-1] == 0:
            row.pop()
        out.append(row)
    return out


EDGE_CASES = [
    # punctuation runs
    "hello!!! ... ?!?", "a--b", "(x)", "...", "!@#$%^&*()_+-=[]{}|;:,.<>/?`~", '"quoted"',
    "well,well;well:well", "a.b.c", "@user #hashtag", "C++ & C#", "50% off!!", "ok?!", "-_-",
    # digits
    "12345", "3.14159", "2024-01-01", "route 66", "covid19", "1st 2nd 3rd 4th", "\u0661\u0662\u0663",
    "\u00bd \u00b2 \u216b", "\u2460\u2461", "0x1F", "1,000,000",
    # case
    "A PHOTO OF A DOG", "CamelCaseWord", "\u0130stanbul", "\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3.",
    "\u03a3", "\u01c5", "\u1e9e", "HELLO World", "\u212a", "\u0130",
    # whitespace
    "  leading", "trailing   ", "a    b", "\ta\tb\t", "line1\nline2\r\nline3", "\u00a0nbsp\u00a0",
    "\u3000ideographic\u3000space", "\x1cfs\x1d", "a\x1cb", "a \x1c b", "", "   ", "\u2028x\u2029",
    "a\u200bb", "\x0b\x0cvt ff", "a\u0085b", "\u1680ogham",
    # contractions
    "it's", "DON'T", "we're", "you've", "I'm", "they'll", "she'd", "rock'n'roll", "''s", "'S",
    "it'\u017f", "o'clock", "'", "'''", "dog's bone", "can't won't shouldn't", "'ll'd'm", "'RE 'VE",
    "it\u2019s", "l'\u00e9t\u00e9",
    # the special tokens typed as text
    "<|startoftext|>", "<|endoftext|> hi", "<|ENDOFTEXT|>", "x<|endoftext|>", "!<|endoftext|>",
    "<|\u017ftartoftext|>", "<|startoftext|><|endoftext|>", "<|endoftext", "<|startoftext |>",
    # HTML references
    "&amp;", "&#39;", "&amp;amp;", "&amp;amp;amp;", "&lt;b&gt;bold&lt;/b&gt;", "&quot;hi&quot;",
    "&apos;", "&nbsp;x", "&#x41;&#X42;&#67", "&#128;&#150;&#159;", "&#0;", "&#xD800;",
    "&#99999999999999999999;", "&#1;x", "&#65535;", "&#x10FFFF;", "&#x110000;", "&#13;", "&#127;",
    "&ampx", "&notit;", "&copy2024", "&AMP;", "&Amp;", "&hellip;", "&lang;&rang;", "&hearts;",
    "&#x;", "&#;", "& amp;", "&&amp;", "fish &amp chips", "&" + "a" * 40 + ";", "&eacute;t&eacute;",
    "&Eacute", "e&#769;", "&#x1F600;", "&euro;5", "&mdash;&ndash;", "&lt", "&ltx", "&gt;=",
    "&#38;amp;", "&#x26;#39;", "&szlig;", "&shy;", "&times;&divide;", "&Omega;&omega;",
    # non-ASCII
    "caf\u00e9", "na\u00efve", "Stra\u00dfe", "\u65e5\u672c\u8a9e", "\U0001f600", "\U0001f44d\U0001f3fd",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
    "cafe\u0301", "A\u030a", "\u212b", "\ufb01sh", "\uff46\uff55\uff4c\uff4c", "\ud55c\uad6d\uc5b4",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\u05e2\u05d1\u05e8\u05d9\u05ea", "\u0939\u093f\u0928\u094d\u0926\u0940",
    "\u0e44\u0e17\u0e22", "\u1fb3", "\u03b1\u0345", "\u0345", "x\u0345y", "\u24b6\u24d1", "\u00ad",
    "\ufeffbom", "a\x00b", "\u00c5ngstr\u00f6m", "\u00e6\u00f8\u00e5", "\u0169\u0301", "\u1100\u1161\u11a8",
    "\U0001d400\U0001d401", "\u2167", "\u00b5\u00b5", "\U00011f04", "\u0f0b", "\U0010fffd",
    # long words and sentences
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
    "a photo of a dog.", "a photo of a traffic light.", "hot dog", "teddy bear",
]

RANDOM_ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 4
    + list("0123456789") * 2
    + list("     .,;:!?'\"-_()[]{}<>|/\\@#$%^&*+=~`") * 2
    + ["\t", "\n", "\u00a0", "\u3000", "\x1c"]
    + list("\u00e9\u00e8\u00fc\u00f6\u00df\u00e7\u00f1\u00c9\u00d6")
    + list("\u65e5\u672c\u8a9e\u4e2d\u6587\ud55c\u00bd\u00b2\u0661")
    + list("\u0301\u0308\u0345\u200d\u200b")
    + ["\U0001f600", "\U0001f3fd", "\u017f", "\u212a", "\u0130", "\u03a3", "\u0399"]
    + ["&amp;", "&#39;", "&lt;", "&gt;", "&quot;", "&nbsp;", "&eacute;", "&#x263A;", "&amp;amp;",
       "'s", "'t", "'re", "'LL", "<|endoftext|>", "<|startoftext|>"]
)


def random_texts(count, seed):
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        texts.append("".join(rng.choice(RANDOM_ALPHABET) for _ in range(rng.randint(1, 40))))
    return texts


def char_classes(pattern):
    """Runs of [first code point, kind] for every non-surrogate code point."""
    runs = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        words = pattern.findall(c)
        if not words:
            kind = "S"
        elif pattern.findall("a" + c) == ["a" + c]:
            kind = "L"
        elif pattern.findall("!" + c) == ["!" + c]:
            kind = "O"
        else:
            kind = "N"
        if not runs or runs[-1][1] != kind:
            runs.append([code, kind])
    return runs


def cleaned_code_points(simple_tokenizer):
    out = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        cleaned = simple_tokenizer.whitespace_clean(simple_tokenizer.basic_clean(c)).lower()
        if cleaned != c:
            out.append([code, cleaned])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="folder holding the reference clip/ and clip_text.py")
    parser.add_argument("--bpe", help="bpe_simple_vocab_16e6.txt.gz (default: the reference's own)")
    parser.add_argument("--output", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "tokenizer_golden.json")))
    parser.add_argument("--ftfy", choices=["nfc", "real"], default="nfc")
    parser.add_argument("--random-count", type=int, default=400)
    args = parser.parse_args()

    if args.ftfy == "nfc":
        install_nfc_ftfy()
    sys.path.insert(0, os.path.abspath(args.reference))
    import clip  # noqa: E402  (the reference package)
    import clip_text  # noqa: E402
    from clip import simple_tokenizer  # noqa: E402

    if args.bpe:
        clip.clip._tokenizer = simple_tokenizer.SimpleTokenizer(args.bpe)
    tokenizer = clip.clip._tokenizer
    bpe_path = args.bpe or simple_tokenizer.default_bpe()
    start, end = tokenizer.encoder["<|startoftext|>"], tokenizer.encoder["<|endoftext|>"]

    templates = capture_templates(clip)
    vocabularies = build_vocabularies(clip_text)
    names = []
    for vocabulary in vocabularies.values():
        for name in vocabulary["classes"] + vocabulary["background"]:
            if name not in names:
                names.append(name)
    class_ids = {name: tokenizer.encode(name) for name in names}
    template_ids = []
    for template in templates:
        before, after = template.split("{}")
        template_ids.append([tokenizer.encode(before), tokenizer.encode(after)])

    exceptions = []
    prompt_count = 0
    for t, template in enumerate(templates):
        rows = tokenize_rows(clip, [template.format(name) for name in names])
        for name, row in zip(names, rows):
            prompt_count += 1
            composed = [start] + template_ids[t][0] + class_ids[name] + template_ids[t][1] + [end]
            if row != composed:
                exceptions.append([t, name, row[1:-1]])

    cases = [[text, tokenizer.encode(text)] for text in EDGE_CASES + random_texts(args.random_count, seed=20240601)]

    long_prompt = "a photo of a dog " * 20
    tokenize_cases = []
    for text, context_length, truncate in [
        ("a photo of a dog.", 77, False), ("", 77, False), ("a " * 75, 77, False), ("a " * 76, 77, False),
        ("a " * 76, 77, True), (long_prompt, 77, False), (long_prompt, 77, True), ("one two three", 5, False),
        ("one two three four", 5, False), ("one two three four", 5, True), ("dog", 1, True),
        ("&amp;" * 100, 77, True),
    ]:
        try:
            tokens = tokenize_rows(clip, [text], context_length, truncate)[0]
        except RuntimeError:
            tokens = None
        tokenize_cases.append([text, context_length, truncate, tokens])

    with open(bpe_path, "rb") as f:
        bpe_sha256 = hashlib.sha256(f.read()).hexdigest()
    import regex

    golden = {
        "about": {
            "generator": "scripts/golden/make_tokenizer_golden.py",
            "ftfy": args.ftfy,
            "bpe_sha256": bpe_sha256,
            "python": sys.version.split()[0],
            "regex": regex.__version__,
            "unicodedata": unicodedata.unidata_version,
            "prompt_count": prompt_count,
            "start_token": start,
            "end_token": end,
            "vocab_size": len(tokenizer.encoder),
        },
        "templates": templates,
        "template_ids": template_ids,
        "vocabularies": vocabularies,
        "class_ids": class_ids,
        "prompt_exceptions": exceptions,
        "cases": cases,
        "tokenize_cases": tokenize_cases,
        "char_classes": char_classes(tokenizer.pat),
        "cleaned": cleaned_code_points(simple_tokenizer),
    }
    # One record per line keeps the file diffable without pretty-printing every id.
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(golden.items())
        for i, (key, value) in enumerate(items):
            f.write(json.dumps(key) + ": ")
            if isinstance(value, list):
                f.write("[\n" + ",\n".join(json.dumps(v, ensure_ascii=True, separators=(",", ":")) for v in value) + "\n]")
            else:
                f.write(json.dumps(value, ensure_ascii=True, separators=(",", ":")))
            f.write(",\n" if i + 1 < len(items) else "\n")
        f.write("}\n")
    print(f"{args.output}: {len(templates)} templates, {len(names)} names, {prompt_count} prompts "
          f"({len(exceptions)} not composed), {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
