#!/usr/bin/env python3
"""The old Streamlit app's way of drawing the latency chart, timed on the same data as
`cargo bench --bench stats_at_scale`.

CompareModelPoc loaded the performance rows into pandas, aggregated with groupby and drew a
plotly bar chart. Here the PNG export goes through kaleido (what Streamlit users did to save a
chart). The script reads the SQLite file the Rust benchmark leaves behind, with the same
window and kinds as `/stats` (narration and arena calls of the last 30 days), and computes the
same figures: p50 latency with a p95 whisker over successful calls, per model.

    python3 -m venv .venv && .venv/bin/pip install pandas "plotly<6" "kaleido==0.2.1"
    cargo bench --bench stats_at_scale          # seeds the file once
    .venv/bin/python benches/legacy_pipeline.py [PATH] [--rounds N] [--guild 7] [--out chart.png]

plotly 6+ needs kaleido 1.x, which drives a separately installed Chrome; plotly 5 with
kaleido 0.2.1 bundles its own Chromium and renders offline.
"""

import argparse
import os
import sqlite3
import statistics
import tempfile
import time

import pandas as pd
import plotly.graph_objects as go

START_MS = 1_767_225_600_000  # the benchmark's first row: 2026-01-01T00:00:00Z


def default_path():
    return os.environ.get(
        "STATS_BENCH_DB",
        os.path.join(tempfile.gettempdir(), "gamemaster-stats-at-scale.db"),
    )


def load(path, guild=None):
    sql = (
        "SELECT model, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd, ok "
        "FROM performance_logs WHERE created_at >= ? AND kind IN ('narration', 'arena')"
    )
    params = [START_MS]
    if guild is not None:
        sql += " AND guild_id = ?"
        params.append(guild)
    with sqlite3.connect(path) as conn:
        return pd.read_sql_query(sql, conn, params=params)


def aggregate(df):
    ok = df[df["ok"] == 1]
    latency = ok.groupby("model")["latency_ms"]
    summary = pd.DataFrame(
        {
            "calls": df.groupby("model").size(),
            "errors": (df["ok"] == 0).groupby(df["model"]).sum(),
            "latency_p50": latency.quantile(0.5),
            "latency_p95": latency.quantile(0.95),
            "ttft_p50": ok.groupby("model")["ttft_ms"].median(),
            "tokens_out_mean": df.groupby("model")["tokens_out"].mean(),
            "cost_total": df.groupby("model")["cost_usd"].sum(min_count=1),
        }
    )
    summary["error_rate"] = summary["errors"] / summary["calls"]
    return summary.sort_values("latency_p50")


def chart_png(summary, width=800, height=500):
    fig = go.Figure(
        go.Bar(
            x=summary.index,
            y=summary["latency_p50"],
            error_y=dict(
                type="data",
                symmetric=False,
                array=summary["latency_p95"] - summary["latency_p50"],
                arrayminus=[0] * len(summary),
            ),
            text=[f"{v:.0f} ms" for v in summary["latency_p50"]],
            textposition="outside",
        )
    )
    fig.update_layout(
        title="Latency (p50) · all servers, last 30 days",
        template="plotly_dark",
        yaxis_title="latency (ms)",
    )
    return fig.to_image(format="png", width=width, height=height)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=default_path())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--guild", type=int, default=None, help="one server only (the Rust bench uses 7)")
    parser.add_argument("--out", default=None, help="also keep the last PNG here")
    args = parser.parse_args()
    if not os.path.exists(args.path):
        raise SystemExit(f"{args.path} does not exist: run `cargo bench --bench stats_at_scale` first")

    # Kaleido starts a headless Chromium on first use; that one-off cost is reported apart.
    started = time.perf_counter()
    chart_png(pd.DataFrame({"latency_p50": [1.0], "latency_p95": [2.0]}, index=["warm-up"]))
    warmup = time.perf_counter() - started

    timings = {"load": [], "aggregate": [], "png": [], "total": []}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        df = load(args.path, args.guild)
        t1 = time.perf_counter()
        summary = aggregate(df)
        t2 = time.perf_counter()
        png = chart_png(summary)
        t3 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
            value_ms = value * 1000
            timings[key].append(value_ms)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(png)

    print(f"rows: {len(df)}  models: {len(summary)}  PNG: {len(png)} bytes")
    print(summary[["calls", "latency_p50", "latency_p95", "error_rate"]].to_string())
    print(f"kaleido warm-up (first chart of a process): {warmup * 1000:.0f} ms")
    for key, values in timings.items():
        print(f"{key:>9}: median {statistics.median(values):8.1f} ms  (min {min(values):.1f}, {args.rounds} rounds)")


if __name__ == "__main__":
    main()
