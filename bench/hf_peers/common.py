"""Shared parts of the Hugging Face peers of lethe's workloads (bench/hf_peers/): the dataset files
lethe writes (`lethe data generate`), QA rendering with the tokenizer's own chat template and labels
-100 on the prompt, the settings of a lethe run read from its config.yaml, and ROUGE-L recall as
rouge_score computes it. Nothing here times anything."""
import json
import os
import re
import time

import torch

IGNORE = -100


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_lethe_config(path):
    """The resolved config.yaml that `lethe finetune` / `lethe unlearn` wrote: the peer trains with
    exactly those settings."""
    import yaml
    with open(path) as f:
        return _numbers(yaml.safe_load(f))


def _numbers(v):
    """PyYAML (YAML 1.1) reads lethe's `1e-08` as a string: turn numeric strings into floats."""
    if isinstance(v, dict):
        return {k: _numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_numbers(x) for x in v]
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def set_threads(n):
    if n > 0:
        torch.set_num_threads(n)


def load_tokenizer(model_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    if tok.pad_token_id is None:
        tok.pad_token = "<|endoftext|>"
    return tok


def end_of_turn_id(tok):
    return tok.convert_tokens_to_ids("<|im_end|>")


def prompt_ids(tok, question, system=None):
    messages = ([{"role": "system", "content": system}] if system else []) + \
               [{"role": "user", "content": question}]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
        ids = ids["input_ids"]
    return list(ids)


def encode_qa(tok, question, answer, max_length):
    """Prompt = the chat-rendered user turn + assistant header; target = answer + <|im_end|>.
    Labels -100 on the prompt; longer than max_length: the answer's tail is cut (as lethe)."""
    p = prompt_ids(tok, question)
    a = tok(answer, add_special_tokens=False)["input_ids"] + [end_of_turn_id(tok)]
    ids = (p + a)[:max_length]
    labels = ([IGNORE] * len(p) + a)[:max_length]
    return {"input_ids": ids, "labels": labels}


def collate_right(rows, pad_id):
    """Right padding to the longest row (dynamic), as HF's DataCollatorForSeq2Seq."""
    n = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        k = len(r["input_ids"])
        ids[i, :k] = torch.tensor(r["input_ids"])
        labels[i, :k] = torch.tensor(r["labels"])
        mask[i, :k] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


# ROUGE-L as rouge_score (google-research/rouge) computes it with use_stemmer=True (TOFU's setting):
# lowercase, non [a-z0-9] -> space, split, Porter-stem tokens longer than 3 characters (nltk's
# PorterStemmer, default NLTK_EXTENSIONS mode, which rouge_score uses), LCS.
try:
    from nltk.stem import porter as _porter
    _STEMMER = _porter.PorterStemmer()
    STEMMER = "nltk PorterStemmer"
except ImportError:  # stated in the JSON: scores can then differ from lethe's on inflected words
    _STEMMER = None
    STEMMER = "none (nltk missing)"


def rouge_tokens(text):
    tokens = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    if _STEMMER is not None:
        tokens = [_STEMMER.stem(t) if len(t) > 3 else t for t in tokens]
    return [t for t in tokens if re.match(r"^[a-z0-9]+$", t)]


def rouge_l_recall(target, prediction):
    t, p = rouge_tokens(target), rouge_tokens(prediction)
    if not t or not p:
        return 0.0
    prev = [0] * (len(p) + 1)
    for i in range(1, len(t) + 1):
        row = [0] * (len(p) + 1)
        for j in range(1, len(p) + 1):
            row[j] = prev[j - 1] + 1 if t[i - 1] == p[j - 1] else max(prev[j], row[j - 1])
        prev = row
    return prev[len(p)] / len(t)


@torch.no_grad()
def generate_answers(model, tok, questions, max_new_tokens, batch_size):
    """Batched greedy generation, prompts sorted by length, left padding, KV cache (HF generate);
    the answer is cut at the first eos / <|im_end|> and decoded without special tokens."""
    model.eval()
    eos = list({end_of_turn_id(tok), tok.eos_token_id} - {None})
    gc = getattr(model, "generation_config", None)
    if gc is not None and gc.eos_token_id is not None:
        eos = sorted(set(eos) | set(gc.eos_token_id if isinstance(gc.eos_token_id, list) else [gc.eos_token_id]))
    encoded = [prompt_ids(tok, q) for q in questions]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out = [None] * len(encoded)
    generated = 0
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        n = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), n), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), n), dtype=torch.long)
        for r, i in enumerate(idx):
            k = len(encoded[i])
            ids[r, n - k:] = torch.tensor(encoded[i])
            mask[r, n - k:] = 1
        seqs = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                              do_sample=False, eos_token_id=eos, pad_token_id=tok.pad_token_id)
        for r, i in enumerate(idx):
            new = seqs[r, n:].tolist()
            for k, t in enumerate(new):
                if t in eos:
                    new = new[:k]
                    break
            generated += len(new)
            out[i] = tok.decode(new, skip_special_tokens=True)
    return out, generated


def rouge_of(model, tok, data_dir, max_new_tokens=32, batch_size=64, limit=0):
    """Forget (sf) and retain (sr) ROUGE-L recall of greedy answers, as `lethe eval` reports."""
    res = {}
    for name, file in (("forget", "sf.jsonl"), ("retain", "sr.jsonl")):
        qa = read_jsonl(os.path.join(data_dir, file))
        if limit > 0:
            qa = qa[:limit]
        gens, _ = generate_answers(model, tok, [r["question"] for r in qa], max_new_tokens, batch_size)
        res[name] = sum(rouge_l_recall(r["answer"], g) for r, g in zip(qa, gens)) / len(qa)
    return res


def load_base(model_dir, dtype=torch.float32):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="sdpa")


class Timer:
    def __init__(self):
        self.phases = {}

    def phase(self, name):
        timer = self

        class _P:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *a):
                timer.phases[name] = timer.phases.get(name, 0.0) + time.perf_counter() - self.t
        return _P()


def versions():
    import transformers
    import peft
    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "threads": torch.get_num_threads(), "rouge_stemmer": STEMMER}
