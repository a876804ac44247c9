#!/usr/bin/env python3
"""Peer of `lethe unlearn --method npo`: NPO on sf.jsonl from a fine-tuned LoRA adapter, in Hugging
Face transformers (a Trainer subclass, as open-unlearning's NPO) + peft. The reference log-probs are
computed the usual way: a frozen copy of the fine-tuned model (adapter merged) run forward on every
batch (open-unlearning's compute_batch_nll on ref_model), where lethe computes them once and caches
them. Settings from lethe's config.yaml. Prints one JSON line (train seconds, tokens/s, the time
spent in the reference forwards, and with --rouge the forget/retain ROUGE-L of the result)."""
import argparse
import json
import os
import sys
import time

T_START = time.time()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import common  # noqa: E402


def sequence_logp(model, batch):
    """Sum of the answer tokens' log-probs per row (labels != -100): open-unlearning's
    compute_batch_nll, negated. [B, T] -> [B]"""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits, labels = logits[:, :-1, :], batch["labels"][:, 1:]
    mask = labels != common.IGNORE
    nll = F.cross_entropy(logits.transpose(1, 2), labels.clamp(min=0), reduction="none")
    return -(nll * mask).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="config.yaml of the matching `lethe unlearn` run")
    ap.add_argument("--model", help="override the config's model folder")
    ap.add_argument("--adapter", help="override the config's fine-tuned adapter")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rouge", action="store_true")
    ap.add_argument("--rouge-limit", type=int, default=0)
    ap.add_argument("--rouge-max-new-tokens", type=int, default=32)
    args = ap.parse_args()
    common.set_threads(args.threads)
    from peft import PeftModel
    from transformers import Trainer, TrainingArguments

    cfg = common.read_lethe_config(args.config)
    beta = float(cfg.get("params", {}).get("beta", 0.1))
    timer = common.Timer()
    model_dir, adapter = args.model or cfg["model"], args.adapter or cfg["adapter"]
    with timer.phase("load"):
        tok = common.load_tokenizer(model_dir)
        model = PeftModel.from_pretrained(common.load_base(model_dir), adapter, is_trainable=True)
        ref = PeftModel.from_pretrained(common.load_base(model_dir), adapter).merge_and_unload()
        ref.eval().requires_grad_(False)
    with timer.phase("tokenize"):
        rows = [common.encode_qa(tok, r["question"], r["answer"], cfg["max_length"])
                for r in common.read_jsonl(os.path.join(args.data, "sf.jsonl"))]
    epochs = args.epochs if args.epochs is not None else cfg["epochs"]
    max_steps = args.max_steps or cfg.get("max_steps", 0) or 0
    targs = TrainingArguments(
        output_dir=args.out, per_device_train_batch_size=cfg["batch_size"],
        gradient_accumulation_steps=cfg.get("grad_accum", 1), num_train_epochs=epochs,
        max_steps=max_steps if max_steps > 0 else -1, learning_rate=cfg["learning_rate"],
        lr_scheduler_type=cfg["lr_scheduler"], warmup_steps=cfg.get("warmup_steps", 0),
        weight_decay=cfg.get("weight_decay", 0.0), adam_beta1=cfg.get("adam_beta1", 0.9),
        adam_beta2=cfg.get("adam_beta2", 0.999), adam_epsilon=cfg.get("adam_epsilon", 1e-8),
        max_grad_norm=cfg.get("max_grad_norm", 1.0) if cfg.get("max_grad_norm", 1.0) > 0 else 0.0,
        seed=cfg["seed"], use_cpu=True,
        train_sampling_strategy="group_by_length" if cfg.get("group_by_length", True) else "random",
        logging_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
        remove_unused_columns=False, dataloader_num_workers=0, dataloader_pin_memory=False)
    tokens, ref_s = [0], [0.0]

    class NpoTrainer(Trainer):
        # open-unlearning trainer/unlearn/npo.py: loss = -(2/beta) mean logsigmoid(-beta (logp - logp_ref))
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            t = time.perf_counter()
            with torch.no_grad():
                logp_ref = sequence_logp(ref, inputs)
            ref_s[0] += time.perf_counter() - t
            logp = sequence_logp(model, inputs)
            loss = -(2.0 / beta) * F.logsigmoid(-beta * (logp - logp_ref)).mean()
            return (loss, None) if return_outputs else loss

    def collate(batch):
        out = common.collate_right(batch, tok.pad_token_id)
        tokens[0] += int(out["attention_mask"].sum())
        return out

    trainer = NpoTrainer(model=model, args=targs, train_dataset=rows, data_collator=collate)
    with timer.phase("train"):
        result = trainer.train()
    with timer.phase("save"):
        model.save_pretrained(args.out)
    t_work_end = time.time()
    out = {"peer": "hf_npo_unlearn", "examples": len(rows), "epochs": epochs, "beta": beta,
           "steps": result.global_step, "train_s": timer.phases["train"], "ref_forward_s": ref_s[0],
           "tokens": tokens[0], "tokens_per_s": tokens[0] / timer.phases["train"],
           "train_loss": result.training_loss, "phases_s": timer.phases,
           "script_s": t_work_end - T_START, "work_end_unix": t_work_end, **common.versions()}
    if args.rouge:
        model.eval()
        out["rouge_l"] = common.rouge_of(model, tok, args.data, args.rouge_max_new_tokens, 64,
                                         args.rouge_limit)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
