#!/usr/bin/env python3
"""lethe vs its Hugging Face peers (bench/hf_peers/, transformers + peft in the chroot of
../shared/peers), measured alternately in one invocation: for each of R rounds and each workload,
lethe's command, then the HF peer on OpenMP OpenBLAS (lethe's BLAS build), then (--blas both) the
peer as Debian installs it (pthread OpenBLAS). Prints a table of median seconds and ratios, with both
sides' forget/retain ROUGE-L, and the load average of every round. Run on the host, as root, from
the repository root.

  bench/peer_compare.py [--shape lethe-base|0.5b] [--rounds 3] [--workloads qa,npo,eval]
                        [--blas openmp|pthread|both] [--threads 2] [--work /tmp/peer-compare]

Workloads (lethe-base; the 0.5b shape is random weights at Qwen2.5-0.5B shape and runs tiny):
  qa    one epoch of LoRA fine-tuning on sf+sr (lethe run's finetune settings), `lethe finetune`
  npo   one epoch of NPO from the fine-tuned adapter (lethe run's unlearn settings), `lethe unlearn`
  eval  one model: greedy generation + teacher-forced scoring, `lethe eval --metrics rouge_l,...`
Seconds: 'wall' = process start to the end of the work (HF: its work_end_unix, so the untimed
ROUGE-L generation after it is excluded); 'loop' = the training loop / evaluation alone."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "hf_peers")
RUN_SH = os.path.join(os.path.dirname(ROOT), "shared", "peers", "run.sh")


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def sh(cmd, env=None, log=None):
    t = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}\n")
        raise SystemExit(1)
    if log:
        with open(log, "a") as f:
            f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr + "\n")
    return t, time.time(), p.stdout


def peer(blas, script, args, threads, log):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0, t1, out = sh([RUN_SH, "--blas", blas, "python3", os.path.join(PEERS, script)] + args +
                     ["--threads", str(threads)], env=env, log=log)
    res = json.loads(out.strip().splitlines()[-1])
    res["wall_s"] = res["work_end_unix"] - t0
    return res


def last_metrics_row(folder):
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r.get("kind", "step") != "eval"]
    return rows[-1]


def lethe_rouge(a, model, adapter, data, out, limit, max_new, threads, log):
    cmd = [a.lethe, "--threads", str(threads), "eval", "--model", model, "--adapter", adapter,
           "--skip-base", "--data", data, "--out", out, "--metrics", "rouge_l",
           "--max-new-tokens", str(max_new), "--batch-size", "64"]
    if limit:
        cmd += ["--limit", str(limit)]
    sh(cmd, log=log)
    with open(out) as f:
        agg = next(iter(json.load(f)["models"].values()))["aggregates"]
    return {"forget": agg["forget"]["rouge_l_recall"], "retain": agg["retain"]["rouge_l_recall"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lethe", default=os.path.join(ROOT, "build", "lethe"))
    ap.add_argument("--shape", choices=["lethe-base", "0.5b"], default="lethe-base")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="qa,npo,eval")
    ap.add_argument("--blas", choices=["openmp", "pthread", "both"], default="both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/peer-compare")
    ap.add_argument("--json", help="write every measurement here")
    a = ap.parse_args()
    work = os.path.join(a.work, a.shape)
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "commands.log")
    T = ["--threads", str(a.threads)]
    data = os.path.join(work, "data")
    if not os.path.exists(os.path.join(data, "manifest.json")):
        sh([a.lethe, "data", "generate", "--out", data], log=log)
    tiny = a.shape == "0.5b"
    if tiny:  # random weights at Qwen2.5-0.5B shape, the lethe-base tokenizer (make_random_model.py)
        model = os.path.join(work, "qwen2.5-0.5b-random")
        if not os.path.exists(os.path.join(model, "config.json")):
            sh([RUN_SH, "python3", os.path.join(PEERS, "make_random_model.py"), "--out", model,
                "--tokenizer", os.path.join(ROOT, "models", "lethe-base")], log=log)
        steps, limit, max_new = ["--max-steps", "2"], 4, 8
    else:
        model = os.path.join(ROOT, "models", "lethe-base")
        steps, limit, max_new = [], 0, 32
    # The fine-tuned adapter that npo and eval start from: lethe run's finetune stage (20 epochs;
    # 0.5b: 2 steps). Untimed.
    ft_args = ["--model", model, "--data", f"{data}/sf.jsonl,{data}/sr.jsonl", "--lr", "1e-3",
               "--batch-size", "8", "--lr-scheduler", "cosine", "--lora-r", "16", "--lora-alpha", "32",
               "--max-length", "256"]
    ft = os.path.join(work, "ft")
    if not os.path.exists(os.path.join(ft, "adapter_model.safetensors")):
        shutil.rmtree(ft, ignore_errors=True)
        sh([a.lethe] + T + ["finetune"] + ft_args + ["--epochs", "20", "--out", ft] + steps, log=log)
    blases = ["openmp", "pthread"] if a.blas == "both" else [a.blas]
    workloads = a.workloads.split(",")
    runs = []  # one dict per measurement

    def run_lethe(wl, r):
        out = os.path.join(work, f"lethe-{wl}-r{r}")
        shutil.rmtree(out, ignore_errors=True)
        if wl == "qa":
            cmd = [a.lethe] + T + ["finetune"] + ft_args + ["--epochs", "1", "--out", out] + steps
        elif wl == "npo":
            cmd = [a.lethe] + T + ["unlearn", "--model", model, "--adapter", ft, "--method", "npo",
                                   "--param", "beta=0.1", "--forget", f"{data}/sf.jsonl", "--retain",
                                   f"{data}/sr.jsonl", "--lr", "1e-4", "--batch-size", "8",
                                   "--lr-scheduler", "constant", "--max-length", "256", "--epochs", "1",
                                   "--out", out] + steps
        else:
            out += ".json"
            cmd = [a.lethe] + T + ["eval", "--model", model, "--adapter", ft, "--skip-base", "--data",
                                   data, "--out", out, "--metrics", "rouge_l,answer_prob,truth_ratio",
                                   "--max-new-tokens", str(max_new), "--batch-size", "64"]
            if limit:
                cmd += ["--limit", str(limit)]
        t0, t1, _ = sh(cmd, log=log)
        m = {"side": "lethe", "workload": wl, "round": r, "wall_s": t1 - t0, "out": out}
        if wl == "eval":
            with open(out) as f:
                res = json.load(f)
            m["loop_s"] = res["timing"]["wall_seconds"]
            agg = next(iter(res["models"].values()))["aggregates"]
            m["rouge_l"] = {"forget": agg["forget"]["rouge_l_recall"], "retain": agg["retain"]["rouge_l_recall"]}
        else:
            row = last_metrics_row(out)
            m["loop_s"], m["steps"] = row["elapsed_s"], row["step"]
        return m

    def run_peer(wl, r, blas, last):
        out = os.path.join(work, f"hf-{blas}-{wl}-r{r}")
        shutil.rmtree(out, ignore_errors=True)
        rouge = (["--rouge", "--rouge-max-new-tokens", str(max_new)] +
                 (["--rouge-limit", str(limit)] if limit else [])) if last else []
        if wl == "qa":
            res = peer(blas, "hf_qa_finetune.py", ["--config", os.path.join(work, "lethe-qa-r0", "config.yaml"),
                                                   "--model", model, "--data", data, "--out", out] + steps + rouge,
                       a.threads, log)
            loop = res["train_s"]
        elif wl == "npo":
            res = peer(blas, "hf_npo_unlearn.py", ["--config", os.path.join(work, "lethe-npo-r0", "config.yaml"),
                                                   "--model", model, "--adapter", ft, "--data", data,
                                                   "--out", out] + steps + rouge, a.threads, log)
            loop = res["train_s"]
        else:
            res = peer(blas, "hf_eval.py", ["--model", model, "--adapter", ft, "--data", data,
                                            "--max-new-tokens", str(max_new), "--batch-size", "64"] +
                       (["--limit", str(limit)] if limit else []), a.threads, log)
            loop = res["work_s"]
            res["rouge_l"] = {k: res["metrics"][k]["rouge_l_recall"] for k in ("forget", "retain")}
        return {"side": f"hf-{blas}", "workload": wl, "round": r, "wall_s": res["wall_s"], "loop_s": loop,
                "out": out, "rouge_l": res.get("rouge_l"), "detail": res}

    for r in range(a.rounds):
        load = load_average()
        for wl in workloads:
            m = run_lethe(wl, r)
            m["load"] = load
            runs.append(m)
            for blas in blases:
                p = run_peer(wl, r, blas, r == a.rounds - 1)
                p["load"] = load_average()
                runs.append(p)
            print(f"round {r} {wl}: lethe {m['wall_s']:.2f}s (loop {m['loop_s']:.2f}) | " +
                  " | ".join(f"{x['side']} {x['wall_s']:.2f}s (loop {x['loop_s']:.2f})"
                             for x in runs if x["round"] == r and x["workload"] == wl and x["side"] != "lethe") +
                  f" | load {load_average()}", flush=True)
    # ROUGE-L of lethe's trained adapters (last round), by lethe's evaluator, and of the HF
    # openmp peer's adapters by lethe's evaluator too (the same yardstick for both results).
    last = a.rounds - 1
    for m in runs:
        if m["round"] == last and m["workload"] in ("qa", "npo") and m["side"] in ("lethe", "hf-" + blases[0]):
            m["rouge_l_by_lethe"] = lethe_rouge(a, model, m["out"], data, m["out"] + "-rouge.json", limit,
                                                max_new, a.threads, log)
            if m["side"] == "lethe":
                m["rouge_l"] = m["rouge_l_by_lethe"]
    print(f"\nshape {a.shape}, {a.rounds} rounds, --threads {a.threads}; median seconds; ratio = HF / lethe")
    print("| workload | lethe wall s | lethe loop s | HF BLAS | HF wall s | HF loop s | ratio wall | ratio loop |"
          " ROUGE-L forget/retain lethe | HF (own eval) | HF (lethe eval) | load avg per round |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda d: f"{d['forget']:.3f}/{d['retain']:.3f}" if d else "-"
    for wl in workloads:
        le = [m for m in runs if m["side"] == "lethe" and m["workload"] == wl]
        lw, ll = statistics.median(m["wall_s"] for m in le), statistics.median(m["loop_s"] for m in le)
        lr = next(m for m in le if m["round"] == last).get("rouge_l")
        for blas in blases:
            hf = [m for m in runs if m["side"] == f"hf-{blas}" and m["workload"] == wl]
            hw, hl = statistics.median(m["wall_s"] for m in hf), statistics.median(m["loop_s"] for m in hf)
            hlast = next(m for m in hf if m["round"] == last)
            loads = ", ".join(m["load"].split()[0] for m in le)
            print(f"| {wl} | {lw:.2f} | {ll:.2f} | {blas} | {hw:.2f} | {hl:.2f} | {hw / lw:.2f}x | {hl / ll:.2f}x |"
                  f" {fmt(lr)} | {fmt(hlast.get('rouge_l'))} | {fmt(hlast.get('rouge_l_by_lethe'))} | {loads} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"shape": a.shape, "rounds": a.rounds, "threads": a.threads, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
