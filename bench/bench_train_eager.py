#!/usr/bin/python3
"""PyTorch-eager peer of bench_train.cpp: the same Qwen2 decoder (RMSNorm, RoPE rotate-half, GQA with q/k/v
bias, SwiGLU, tied lm_head), LoRA r 8 / alpha 16 on all seven projections (frozen base, fp32 adapters),
the same LoRA step (forward, mean token NLL, backward, torch.optim.AdamW). Prints tokens_per_s=X and
cpu_s_per_step=X (user + sys, all threads) after one warm-up step.
Run with Debian's python3-torch: /usr/bin/python3 bench/bench_train_eager.py --shape micro"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {
    "micro": dict(vocab=2048, hidden=256, inter=688, layers=4, heads=4, kv=2),
    "0.5b": dict(vocab=151936, hidden=896, inter=4864, layers=24, heads=14, kv=2),
}


class LoraLinear(nn.Module):
    def __init__(self, din, dout, bias, r=8, alpha=16, dtype=torch.float32):
        super().__init__()
        self.base = nn.Linear(din, dout, bias=bias).to(dtype)
        self.base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.randn(r, din) * 0.01)
        self.lora_B = nn.Parameter(torch.randn(dout, r) * 0.01)
        self.scaling = alpha / r

    def forward(self, x):
        y = self.base(x)
        lora = F.linear(F.linear(x.to(self.lora_A.dtype), self.lora_A), self.lora_B) * self.scaling
        return y + lora.to(y.dtype)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Layer(nn.Module):
    def __init__(self, s, dtype):
        super().__init__()
        C, H, KV = s["hidden"], s["heads"], s["kv"]
        self.H, self.KV, self.D = H, KV, C // H
        self.q_proj = LoraLinear(C, H * self.D, True, dtype=dtype)
        self.k_proj = LoraLinear(C, KV * self.D, True, dtype=dtype)
        self.v_proj = LoraLinear(C, KV * self.D, True, dtype=dtype)
        self.o_proj = LoraLinear(H * self.D, C, False, dtype=dtype)
        self.gate_proj = LoraLinear(C, s["inter"], False, dtype=dtype)
        self.up_proj = LoraLinear(C, s["inter"], False, dtype=dtype)
        self.down_proj = LoraLinear(s["inter"], C, False, dtype=dtype)
        self.input_layernorm = RMSNorm(C).to(dtype)
        self.post_attention_layernorm = RMSNorm(C).to(dtype)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.H // self.KV, dim=1)
        v = v.repeat_interleave(self.H // self.KV, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.D) + mask
        attn = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        x = x + self.o_proj(attn.transpose(1, 2).reshape(B, T, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, s, dtype):
        super().__init__()
        self.embed_tokens = nn.Embedding(s["vocab"], s["hidden"]).to(dtype)
        self.embed_tokens.requires_grad_(False)
        self.layers = nn.ModuleList(Layer(s, dtype) for _ in range(s["layers"]))
        self.norm = RMSNorm(s["hidden"]).to(dtype)
        self.D = s["hidden"] // s["heads"]

    def forward(self, ids):
        B, T = ids.shape
        x = self.embed_tokens(ids)
        inv = 1.0 / (1e6 ** (torch.arange(0, self.D, 2).float() / self.D))
        freqs = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((T, T), float("-inf")).triu(1).to(x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="micro")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32
    model = Model(SHAPES[a.shape], dtype)
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, SHAPES[a.shape]["vocab"], (a.batch, a.seq))

    def step():
        opt.zero_grad(set_to_none=True)
        hidden = model(ids)[:, :-1]
        logits = F.linear(hidden, model.embed_tokens.weight).float()
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()

    step()  # warm-up
    cpu_start = time.process_time()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = (time.perf_counter() - start) / a.steps
    cpu_seconds = (time.process_time() - cpu_start) / a.steps
    print(f"tokens_per_s={a.batch * a.seq / seconds:.1f}")
    print(f"cpu_s_per_step={cpu_seconds:.4f}")


if __name__ == "__main__":
    main()
