#!/usr/bin/env python3
"""Peer of `lethe finetune`: LoRA QA fine-tuning on sf.jsonl + sr.jsonl in Hugging Face transformers
(Trainer) + peft, with the settings of lethe's run read from its config.yaml (lr, schedule, epochs,
batch, max_length, LoRA r / alpha / dropout / targets, AdamW betas / eps / weight decay, clipping,
seed, group_by_length). Chat template via apply_chat_template, labels -100 on the prompt. Prints one
JSON line: train seconds, tokens/s, and (--rouge) forget/retain ROUGE-L of the result."""
import argparse
import json
import os
import sys
import time

T_START = time.time()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="config.yaml of the matching `lethe finetune` run")
    ap.add_argument("--model", help="override the config's model folder")
    ap.add_argument("--data", required=True, help="dataset folder (sf.jsonl, sr.jsonl)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, help="override the config's epochs")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rouge", action="store_true", help="then generate and score forget/retain ROUGE-L")
    ap.add_argument("--rouge-limit", type=int, default=0)
    ap.add_argument("--rouge-max-new-tokens", type=int, default=32)
    args = ap.parse_args()
    common.set_threads(args.threads)
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments

    cfg = common.read_lethe_config(args.config)
    timer = common.Timer()
    model_dir = args.model or cfg["model"]
    with timer.phase("load"):
        tok = common.load_tokenizer(model_dir)
        model = common.load_base(model_dir)
        lora = cfg["lora"]
        torch.manual_seed(cfg["seed"])  # peft's init from this seed = lethe's attach_lora(seed)
        model = get_peft_model(model, LoraConfig(
            r=lora["r"], lora_alpha=lora["lora_alpha"], lora_dropout=lora.get("lora_dropout", 0.0),
            target_modules=lora["target_modules"], use_rslora=lora.get("use_rslora", False)))
    with timer.phase("tokenize"):
        rows = []
        for file in ("sf.jsonl", "sr.jsonl"):
            for r in common.read_jsonl(os.path.join(args.data, file)):
                if cfg.get("retain_only") and r.get("subset") == "forget":
                    continue
                rows.append(common.encode_qa(tok, r["question"], r["answer"], cfg["max_length"]))
    steps_per_epoch = -(-len(rows) // cfg["batch_size"])
    epochs = args.epochs if args.epochs is not None else cfg["epochs"]
    max_steps = args.max_steps or cfg.get("max_steps", 0) or 0
    sched = cfg["lr_scheduler"]
    extra = {}
    if cfg.get("min_lr_ratio", 0) and sched == "cosine":
        sched, extra = "cosine_with_min_lr", {"lr_scheduler_kwargs": {"min_lr_rate": cfg["min_lr_ratio"]}}
    targs = TrainingArguments(
        output_dir=args.out, per_device_train_batch_size=cfg["batch_size"],
        gradient_accumulation_steps=cfg.get("grad_accum", 1), num_train_epochs=epochs,
        max_steps=max_steps if max_steps > 0 else -1, learning_rate=cfg["learning_rate"],
        lr_scheduler_type=sched, warmup_steps=cfg.get("warmup_steps", 0),
        weight_decay=cfg.get("weight_decay", 0.0), adam_beta1=cfg.get("adam_beta1", 0.9),
        adam_beta2=cfg.get("adam_beta2", 0.999), adam_epsilon=cfg.get("adam_epsilon", 1e-8),
        max_grad_norm=cfg.get("max_grad_norm", 1.0) if cfg.get("max_grad_norm", 1.0) > 0 else 0.0,
        seed=cfg["seed"], use_cpu=True,
        train_sampling_strategy="group_by_length" if cfg.get("group_by_length", True) else "random",
        logging_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
        remove_unused_columns=False, dataloader_num_workers=0, dataloader_pin_memory=False, **extra)
    if cfg.get("warmup_ratio", 0):
        targs.warmup_ratio = cfg["warmup_ratio"]
    tokens = [0]

    def collate(batch):
        out = common.collate_right(batch, tok.pad_token_id)
        tokens[0] += int(out["attention_mask"].sum())
        return out

    trainer = Trainer(model=model, args=targs, train_dataset=rows, data_collator=collate)
    with timer.phase("train"):
        result = trainer.train()
    t_work_end = time.time()
    with timer.phase("save"):
        model.save_pretrained(args.out)
    t_work_end = time.time()
    out = {"peer": "hf_qa_finetune", "examples": len(rows), "epochs": epochs,
           "steps": result.global_step, "steps_per_epoch": steps_per_epoch,
           "train_s": timer.phases["train"], "tokens": tokens[0],
           "tokens_per_s": tokens[0] / timer.phases["train"], "train_loss": result.training_loss,
           "phases_s": timer.phases, "script_s": t_work_end - T_START, "work_end_unix": t_work_end,
           **common.versions()}
    if args.rouge:
        model.eval()
        out["rouge_l"] = common.rouge_of(model, tok, args.data, args.rouge_max_new_tokens, 64,
                                         args.rouge_limit)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
