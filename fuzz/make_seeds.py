#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/ (scripts/fuzz.sh calls this).

Sources: ../shared/fixtures (safetensors, config.json, tokenizer, adapter_config.json), configs/*.yaml,
fuzz/seeds/ (small hand-written files), a dataset made by `lethe data generate` when the lethe binary
is given, and small variants made here (a short tokenizer, a llama config, odd safetensors headers).
Standard library only.
"""
import json
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root.parent / "shared" / "fixtures"
out = pathlib.Path(sys.argv[1])
lethe = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None


def put(target, name, data):
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def copy(target, path, name=None):
    if path.is_file():
        put(target, name or path.name, path.read_bytes())


def safetensors_bytes(tensors, metadata=None, pad=True):
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blob


# safetensors: the real (small) files and hand-made headers.
copy("safetensors", fixtures / "qwen2-tiny-lora" / "adapter_model.safetensors", "lora.safetensors")
put("safetensors", "small.safetensors", safetensors_bytes({
    "a": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
    "b": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
    "c": ("I64", [1], struct.pack("<q", -7)),
    "e": ("F16", [0, 5], b"")}, {"format": "pt"}))
put("safetensors", "bool.safetensors", safetensors_bytes({"m": ("BOOL", [4], b"\x00\x01\x01\x00")}, None, False))

# config.json: the fixture and a llama variant with llama3 rope scaling.
copy("model_config", fixtures / "qwen2-tiny" / "config.json")
llama = json.loads((fixtures / "qwen2-tiny" / "config.json").read_text())
llama.update({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "head_dim": 32,
              "attention_bias": True, "mlp_bias": True, "eos_token_id": [1, 2],
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})
put("model_config", "llama.json", json.dumps(llama, indent=1))

# tokenizer.json: Qwen2.5's, cut to its first 400 tokens (7 MB is too slow to mutate), with and
# without tokenizer_config.json (after a NUL byte).
tok_path = fixtures / "qwen-tokenizer" / "tokenizer.json"
if tok_path.is_file():
    tok = json.loads(tok_path.read_text())
    vocab = {t: i for t, i in tok["model"]["vocab"].items() if i < 400}
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    tok["model"]["vocab"] = vocab
    tok["model"]["merges"] = merges
    small = json.dumps(tok, ensure_ascii=False)
    put("tokenizer", "qwen_small.json", small)
    config = fixtures / "qwen-tokenizer" / "tokenizer_config.json"
    if config.is_file():
        put("tokenizer", "qwen_small_with_config.json", small.encode() + b"\0" + config.read_bytes())

# adapter_config.json
copy("adapter_config", fixtures / "qwen2-tiny-lora" / "adapter_config.json")
qv = json.loads((fixtures / "qwen2-tiny-lora" / "adapter_config.json").read_text())
qv.update({"target_modules": ["q_proj", "v_proj"], "use_rslora": True, "lora_alpha": 16.5})
put("adapter_config", "qv_rslora.json", json.dumps(qv))

# YAML configs: every shipped config.
for path in sorted((root / "configs").glob("*.yaml")):
    copy("yaml_config", path)

# Hand-written seeds.
for folder in sorted((root / "fuzz" / "seeds").iterdir()):
    for path in sorted(folder.iterdir()):
        copy(folder.name, path)

# A real dataset folder, one file per "---" section (the dataset target's input format).
if lethe and lethe.is_file():
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(lethe), "--quiet", "data", "generate", "--out", tmp + "/d", "--targets", "1",
               "--background", "1", "--holdout", "1", "--world-country-qa", "1", "--sf-per-target", "1",
               "--correlated-per-target", "1", "--other-per-target", "1", "--paraphrased-questions",
               "1", "--corpus-phrasings", "0", "--corpus-prose", "1", "--no-check"]
        if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            names = ["profiles.jsonl", "facts.jsonl", "sf.jsonl", "sr.jsonl", "wrong_details.jsonl",
                     "forget_eval.jsonl", "world.jsonl", "holdout.jsonl", "corpus.jsonl", "manifest.json"]
            # Three records per file: large inputs make every execution slow.
            parts = ["".join((pathlib.Path(tmp) / "d" / n).read_text().splitlines(True)[:3])
                     for n in names]
            put("dataset", "generated.jsonl", "---\n".join(p if p.endswith("\n") else p + "\n" for p in parts))

# Regression inputs of earlier findings seed their target too.
regressions = root / "tests" / "fuzz_regressions"
if regressions.is_dir():
    for folder in sorted(regressions.iterdir()):
        for path in sorted(folder.iterdir()):
            copy(folder.name, path, "regression_" + path.name)

for folder in sorted(out.iterdir()):
    print(f"seeds {folder.name}: {len(list(folder.iterdir()))} files")
