#!/usr/bin/python3
"""Self time by op from a Chrome trace written by bench_train --profile (or any libtorch
RecordProfile / torch.profiler export): per thread, an event's self time is its duration minus the
time of the events nested directly inside it. Prints the top ops with total self ms, share, calls.
Usage: bench/profile_summary.py TRACE.json [--top N] [--steps N (divide totals per step)]"""
import argparse
import collections
import json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--steps", type=int, default=1)
    a = p.parse_args()
    with open(a.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    self_us = collections.Counter()
    calls = collections.Counter()
    for spans in by_thread.values():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []  # [end, name, child time]
        def close(frame):
            end, name, child, dur = frame
            self_us[name] += dur - child
            if stack:
                stack[-1][2] += dur
        for ts, dur, name in spans:
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            stack.append([ts + dur, name, 0.0, dur])
            calls[name] += 1
        while stack:
            close(stack.pop())
    total = sum(self_us.values())
    print(f"{'op':<48} {'self ms':>10} {'share':>7} {'calls':>8}")
    for name, us in self_us.most_common(a.top):
        print(f"{name[:48]:<48} {us / 1000 / a.steps:10.2f} {100 * us / total:6.1f}% "
              f"{calls[name] // a.steps:8d}")
    print(f"{'total':<48} {total / 1000 / a.steps:10.2f}")


if __name__ == "__main__":
    main()
