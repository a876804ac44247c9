#!/usr/bin/env python3
"""The LoRA training step in Hugging Face transformers + peft on any device: the peer of
`bench_train --device` (same shape, batch, sequence, r 8 / alpha 16 on all 7 projections, AdamW on
the adapter, loss on every token). Random weights; prints one JSON line with tokens/s.
Used by scripts/gpu-check.sh on a GPU; ../shared/peers/hf_lora_step.py is the CPU peer."""
import argparse
import json
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

SHAPES = {  # the shapes of bench/bench_shapes.h
    "micro": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=688, vocab_size=2048),
    "0.5b": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                 intermediate_size=4864, vocab_size=151936),
    "1.5b": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                 intermediate_size=8960, vocab_size=151936),
}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="bfloat16")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    args = ap.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    torch.manual_seed(0)
    config = Qwen2Config(**SHAPES[args.shape], tie_word_embeddings=True, rope_theta=1e6,
                         max_position_embeddings=32768)
    model = Qwen2ForCausalLM._from_config(config, attn_implementation=args.attn, torch_dtype=dtype)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                      "down_proj"])
    model = get_peft_model(model, lora).to(device)
    for name, p in model.named_parameters():  # fp32 adapter on a low-precision base, as lethe
        if "lora_" in name:
            p.data = p.data.float()
            torch.nn.init.normal_(p, 0, 0.01)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq), device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        sync(device)

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    print(json.dumps({"peer": "hf+peft", "shape": args.shape, "device": str(device), "dtype": args.dtype,
                      "batch": args.batch, "seq": args.seq, "step_s": seconds,
                      "tokens_per_s": args.batch * args.seq / seconds, "peak_gpu_mb": peak,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
