#!/usr/bin/env python3
"""Peer of `lethe eval --metrics rouge_l,answer_prob,truth_ratio --skip-base --adapter A`: one model
(base + LoRA adapter, merged) on the forget (sf), retain (sr) and world sets: batched greedy
generation (HF generate, left padding, KV cache) for ROUGE-L, and teacher-forced scoring (a forward
over full logits, as HF users compute it) of every answer, paraphrased answer and perturbed answer
for answer_prob and the truth ratio. Prints one JSON line with seconds per phase and the metrics."""
import argparse
import json
import math
import os
import sys
import time

T_START = time.time()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import common  # noqa: E402


@torch.no_grad()
def mean_nll(model, tok, pairs, batch_size, max_length):
    """Mean answer-token NLL of each (question, answer), batches sorted by length, right padding."""
    rows = [common.encode_qa(tok, q, a, max_length) for q, a in pairs]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    out, tokens = [0.0] * len(rows), 0
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        b = common.collate_right([rows[i] for i in idx], tok.pad_token_id)
        tokens += int(b["attention_mask"].sum())
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        labels = b["labels"][:, 1:]
        mask = labels != common.IGNORE
        nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels.clamp(min=0), reduction="none")
        per = (nll * mask).sum(1) / mask.sum(1)
        for r, i in enumerate(idx):
            out[i] = float(per[r])
    return out, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    common.set_threads(args.threads)
    from peft import PeftModel

    timer = common.Timer()
    with timer.phase("load"):
        tok = common.load_tokenizer(args.model)
        model = PeftModel.from_pretrained(common.load_base(args.model), args.adapter).merge_and_unload()
        model.eval()
    wrong = {r["qa_id"]: r for r in common.read_jsonl(os.path.join(args.data, "wrong_details.jsonl"))}
    sets = {}
    for name, file in (("forget", "sf.jsonl"), ("retain", "sr.jsonl"), ("world", "world.jsonl")):
        qa = common.read_jsonl(os.path.join(args.data, file))
        if args.limit > 0:
            qa = qa[:args.limit]
        for r in qa:
            w = r if name == "world" else wrong[r["id"]]
            r["_para"], r["_pert"] = w["paraphrased_answer"], w["perturbed_answers"]
        sets[name] = qa
    items = [(name, r) for name, qa in sets.items() for r in qa]
    with timer.phase("generate"):
        gens, generated = common.generate_answers(model, tok, [r["question"] for _, r in items],
                                                  args.max_new_tokens, args.batch_size)
    pairs, at = [], []
    for _, r in items:
        at.append(len(pairs))
        pairs.append((r["question"], r["answer"]))
        pairs.append((r["question"], r["_para"]))
        pairs += [(r["question"], p) for p in r["_pert"]]
    with timer.phase("score"):
        nll, scored = mean_nll(model, tok, pairs, args.batch_size, args.max_length)
    t_work_end = time.time()
    metrics = {}
    for name in sets:
        rl, ap_, tr = [], [], []
        for k, ((n, r), g) in enumerate(zip(items, gens)):
            if n != name:
                continue
            a = at[k]
            rl.append(common.rouge_l_recall(r["answer"], g))
            ap_.append(math.exp(-nll[a]))
            pert = nll[a + 2:a + 2 + len(r["_pert"])]
            ratio = math.exp(sum(pert) / len(pert) - nll[a + 1])
            tr.append(min(ratio, 1 / ratio) if name == "forget" else max(0.0, 1 - 1 / ratio))
        metrics[name] = {"n": len(rl), "rouge_l_recall": sum(rl) / len(rl),
                         "answer_prob": sum(ap_) / len(ap_), "truth_ratio": sum(tr) / len(tr)}
    print(json.dumps({"peer": "hf_eval", "questions": len(items), "scored_sequences": len(pairs),
                      "scored_tokens": scored, "generated_tokens": generated,
                      "work_s": timer.phases["generate"] + timer.phases["score"],
                      "phases_s": timer.phases, "script_s": t_work_end - T_START,
                      "work_end_unix": t_work_end, "metrics": metrics, **common.versions()}))


if __name__ == "__main__":
    main()
