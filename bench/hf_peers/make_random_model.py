#!/usr/bin/env python3
"""Writes a random-weight Qwen2 checkpoint at the Qwen2.5-0.5B shape (bench/bench_shapes.h "0.5b":
hidden 896, 24 layers, 14 heads, 2 kv heads, intermediate 4864, vocab 151936, tied, rope_theta 1e6)
in HF format (float32 safetensors) with lethe-base's tokenizer, so lethe and the HF peers run the
same 0.5B-shaped model on lethe's own data. The tokenizer knows 2048 ids; the embedding keeps all
151936 rows (the lm_head cost of the real shape), and rows >= 2048 are zero: with tied embeddings
their logits are exactly 0, while the max over 2048 random logits is positive, so greedy decoding
never picks an id the tokenizer cannot decode."""
import argparse
import os
import shutil

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json etc. (lethe-base)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    config = Qwen2Config(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True, rope_theta=1e6,
                         max_position_embeddings=32768, bos_token_id=2045, eos_token_id=[2047, 2045],
                         rms_norm_eps=1e-6)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight[2048:].zero_()
    model.save_pretrained(args.out, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"):
        if os.path.exists(os.path.join(args.tokenizer, f)):
            shutil.copy(os.path.join(args.tokenizer, f), os.path.join(args.out, f))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
