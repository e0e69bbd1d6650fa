#!/usr/bin/env python3
"""Markdown table and PNG plot of the speed matrix written by bench/matrix.sh.

    python3 bench/plot_matrix.py bench-matrix.json OUT.md OUT.png

Input: a JSON array of `bitnet bench -o json` objects tagged with "format",
or {"format", "backend", "kernel", "threads", "error"} for a configuration
that could not run. Figures are the medians over the repetitions.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    rows = json.load(open(path))
    cfg = {}
    for r in rows:
        key = (r["format"], r["backend"], r.get("kernel", "auto"), int(r["threads"]))
        c = cfg.setdefault(key, {})
        if "error" in r:
            c["error"] = r["error"]
            continue
        c[r["test"][:2]] = r
    return cfg


def fmt_ts(r):
    return "%.2f (± %.2f)" % (r["median_ts"], r["stddev_ts"]) if r else "-"


def table(cfg):
    any_row = next((t for c in cfg.values() for t in c.values() if isinstance(t, dict)), None)
    head = []
    if any_row:
        head.append("Model: %s random weights (%.0f MiB of weights), CPU: %s, commit %s, %d repetitions "
                    "after a warm-up, KV cache %s. Figures: median tokens/s (± standard deviation)."
                    % (any_row["arch"], any_row["size_bytes"] / 1048576.0, any_row["cpu"], any_row["commit"],
                       any_row["repetitions"], any_row.get("kv_type", "f16")))
        head.append("")
    pp_n = tg_n = None
    for c in cfg.values():
        if "pp" in c:
            pp_n = c["pp"]["n_tokens"]
        if "tg" in c:
            tg_n = c["tg"]["n_tokens"]
    lines = ["| format | backend | kernel | threads | pp%s t/s | tg%s t/s | read bw GB/s | tg %% of roofline "
             "| load s | peak RSS / file |" % (pp_n, tg_n),
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(cfg):
        c = cfg[key]
        f, b, k, t = key
        if "error" in c:
            lines.append("| %s | %s | %s | %d | n/a | n/a | | | | %s |" % (f, b, k, t, c["error"]))
            continue
        pp, tg = c.get("pp"), c.get("tg")
        any_r = pp or tg
        bw = tg["read_bandwidth_gbs"] if tg and tg["read_bandwidth_gbs"] > 0 else None
        roof = "%.1f %%" % (100.0 * tg["median_ts"] / tg["roofline_ts"]) if tg and tg["roofline_ts"] > 0 else "-"
        lines.append("| %s | %s | %s | %d | %s | %s | %s | %s | %.2f | %.2fx |" % (
            f, b, k, t, fmt_ts(pp), fmt_ts(tg), "%.1f" % bw if bw else "-", roof, any_r["load_s"],
            any_r["peak_rss_bytes"] / any_r["file_bytes"]))
    # thread scaling: 2-thread median over 1-thread median, same configuration
    scale = ["", "Thread scaling (median at the most threads / median at 1 thread):", "",
             "| format | backend | kernel | threads | pp ratio | tg ratio |", "|---|---|---|---:|---:|---:|"]
    for key in sorted(cfg):
        f, b, k, t = key
        one = cfg.get((f, b, k, 1), {})
        c = cfg[key]
        if t == 1 or "error" in c or "error" in one:
            continue
        ratio = [("%.2fx" % (c[x]["median_ts"] / one[x]["median_ts"]) if x in c and x in one else "-")
                 for x in ("pp", "tg")]
        scale.append("| %s | %s | %s | %d | %s | %s |" % (f, b, k, t, ratio[0], ratio[1]))
    return "\n".join(head + lines + (scale if len(scale) > 5 else [])) + "\n"


def plot(cfg, png):
    keys = [k for k in sorted(cfg) if "error" not in cfg[k]]
    labels = sorted({(f, b, k) for f, b, k, _ in keys})
    threads = sorted({t for _, _, _, t in keys})
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.45 * len(labels) * len(threads) + 1.8))
    for ax, test, title in ((axes[0], "pp", "prompt processing"), (axes[1], "tg", "generation")):
        height = 0.8 / max(len(threads), 1)
        n = None
        for ti, t in enumerate(threads):
            ys, vals, errs = [], [], []
            for li, lab in enumerate(labels):
                r = cfg.get(lab + (t,), {}).get(test)
                if r:
                    n = r["n_tokens"]
                    ys.append(li + ti * height)
                    vals.append(r["median_ts"])
                    errs.append(r["stddev_ts"])
            bars = ax.barh(ys, vals, height=height, xerr=errs, label="%d thread%s" % (t, "s" if t > 1 else ""))
            ax.bar_label(bars, fmt="%.1f", padding=3, fontsize=7)
        ax.set_yticks([i + height * (len(threads) - 1) / 2 for i in range(len(labels))])
        ax.set_yticklabels(["%s / %s / %s" % lab for lab in labels], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("tokens/s (median)")
        ax.set_title("%s (%s%s)" % (title, test, n or ""))
        ax.grid(axis="x", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(threads), fontsize=9)
    fig.suptitle("bitnet, BitNet-b1.58-2B-4T shape, random weights, Q8_0 LM head: format / plugin / kernel")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(png, dpi=110)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: plot_matrix.py RESULTS.json OUT.md OUT.png")
    cfg = load(sys.argv[1])
    if not cfg:
        sys.exit("plot_matrix: no results in %s" % sys.argv[1])
    open(sys.argv[2], "w").write(table(cfg))
    plot(cfg, sys.argv[3])


if __name__ == "__main__":
    main()
