#!/usr/bin/python3
"""Differential check of `lethe tokenize` against a line-for-line port of Hugging Face's slow
Qwen2Tokenizer (transformers 4.47: NFC, added-token split, the `regex` module's findall, GPT-2 BPE) on
random strings mixing scripts, Unicode whitespace, digits, marks, emoji and contractions.

Usage: /usr/bin/python3 bench/tokenizer_fuzz.py LETHE_BINARY [TOKENIZER_DIR] [N]
Needs Debian's python3-regex (the module transformers uses). Prints mismatches; exit 1 if any.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

import regex

PAT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
       r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class SlowQwen2:
    def __init__(self, path):
        tj = json.load(open(os.path.join(path, "tokenizer.json"), encoding="utf-8"))
        self.vocab = tj["model"]["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tj["model"]["merges"]]
        self.ranks = {m: i for i, m in reversed(list(enumerate(merges)))}
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.byte_encoder = bytes_to_unicode()
        self.pat = regex.compile(PAT)
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        self.cache[token] = word
        return word

    def encode(self, text):
        text = unicodedata.normalize("NFC", text)
        ids, start = [], 0
        specials = sorted(self.added, key=len, reverse=True)
        i = 0
        chunks = []
        while i < len(text):
            hit = next((s for s in specials if text.startswith(s, i)), None)
            if hit:
                chunks.append(text[start:i])
                chunks.append(hit)
                i += len(hit)
                start = i
            else:
                i += 1
        chunks.append(text[start:])
        for chunk in chunks:
            if chunk in self.added:
                ids.append(self.added[chunk])
                continue
            for piece in self.pat.findall(chunk):
                mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
                ids.extend(self.vocab[t] for t in self.bpe(mapped))
        return ids


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789٠١٢٣٤٥６７８９²³½ⅷ",
    " \t\n\r\x0b\x0c\u00a0\u2009\u3000\u2028\u0085\x1c\x1f\u200b\u180e\ufeff",
    "'’\"!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`",
    "éèêëñçøåæœßÉÅŁłżźąęĳſKµ",
    "\u0301\u0308\u0327\u20dd\u0903",
    "你好世界中文字符日本語のテキスト한국어조선말",
    "Приветмирελληνικάעבריתالعربيةहिन्दीไทย",
    "😀👍🏽🎉👨‍👩‍👧🇯🇵❤️✓∑∞≤",
]
WORDS = ["'s", "'S", "'ll", "'LL", "'ve", "'Re", "'d", "'M", "<|im_start|>", "<|im_end|>",
         "<|endoftext|>", "<tool_call>", "  ", "\n\n", " \n ", "\r\n", "\t\t", "don't", "I'M"]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.2:
            parts.append(rng.choice(WORDS))
        elif r < 0.3:  # any code point (not a surrogate), to catch Unicode property differences
            cps = [rng.randrange(0x80, 0x30000) for _ in range(rng.randint(1, 4))]
            parts.append("".join(chr(c) for c in cps if not 0xD800 <= c < 0xE000))
        else:
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
    return "".join(parts)


def main():
    binary = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "fixtures", "qwen-tokenizer")
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    rng = random.Random(0)
    texts = [random_text(rng) for _ in range(n)]
    ref = SlowQwen2(path)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.jsonl")
        with open(src, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        out = subprocess.run([binary, "tokenize", path, "--jsonl", src], check=True,
                             capture_output=True, text=True).stdout.split("\n")
    bad = 0
    for t, line in zip(texts, out):
        got, want = json.loads(line)["ids"], ref.encode(t)
        if got != want:
            bad += 1
            if bad <= 10:
                print("MISMATCH", repr(t), "\n  lethe", got, "\n  slow ", want)
    print(f"{n - bad}/{n} random texts identical to the slow Qwen2Tokenizer port")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
