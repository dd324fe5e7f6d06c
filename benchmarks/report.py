"""Turn ``results.json`` into ``docs/benchmarks.md`` and its PNG plots (matplotlib when installed; else no plots).

``python -m benchmarks.report [RESULTS_JSON] [--out docs/benchmarks.md] [--img-dir docs/img]`` re-renders a report
from saved results without measuring again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
from pathlib import Path
from typing import Any

from benchmarks.doc_blocks import keep_section

MIB = 2**20
LAMBDA_UNZIPPED_MIB = 250

TARGETS = {
    "peer": 3.0,  # our Athena read: at least 3x the peer's throughput
    "floor": 1.5,  # ... and within 1.5x of the floor
    "rss": 1.3,  # 1M-row spill read peak RSS at most 1.3x the 100k read's
    "cold": 1.5,  # handler cold start within 1.5x of the import floor
    "scaling": 5.0,  # 8 splits at least 5x one split
}

VARIANT_LABELS = {
    "floor": "floor: HTTP + JSON decode only",
    "floor-peer": "floor, in the peer's interpreter",
    "athena": "**ours: Athena ReadRecords** (S3 PUTs included)",
    "athena-nos3": "ours: Athena ReadRecords, PUTs excluded",
    "peer": "peer: athena-federation 0.1.6 (PUT excluded)",
    "floor-1000": "floor, pages of 1,000",
    "appflow": "**ours: AppFlow QueryData** paging to the end",
}


# ------------------------------------------------------------------------------------------- formatting


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:,.2f} s"


def _rate(rows: int, seconds: float | None) -> str:
    if not seconds:
        return "-"
    return f"{rows / seconds / 1000:,.0f}k"


def _ratio(x: float | None) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    return f"{x:.2f}x"


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.0f} MiB"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


# -------------------------------------------------------------------------------------------- analysis


def _cpu(workload: dict[str, Any], variant: str) -> float | None:
    v = workload.get("variants", {}).get(variant)
    return None if v is None else v["cpu"]


def _wall(workload: dict[str, Any], variant: str) -> float | None:
    v = workload.get("variants", {}).get(variant)
    return None if v is None else v["wall"]


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _paired(workload: dict[str, Any], a: str, b: str) -> float | None:
    """The median of a's CPU over b's, repetition by repetition (each repetition runs every variant in turn)."""
    runs_a = (workload.get("variants", {}).get(a) or {}).get("runs") or []
    runs_b = (workload.get("variants", {}).get(b) or {}).get("runs") or []
    if not runs_a or len(runs_a) != len(runs_b):
        return None
    return float(statistics.median(x["cpu"] / y["cpu"] for x, y in zip(runs_a, runs_b, strict=True)))


def analyse(results: dict[str, Any]) -> dict[str, Any]:
    """The target figures: each a ratio, with the absolutes it comes from."""
    out: dict[str, Any] = {}
    tp = results.get("throughput", {})
    spill = tp.get("spill", {})
    inline = tp.get("inline", {})
    if spill:
        rows = spill["rows"]
        floor, ours, ours_nos3, peer = (_cpu(spill, v) for v in ("floor", "athena", "athena-nos3", "peer"))
        out["peer_spill"] = _div(peer, ours_nos3)
        out["peer_spill_wall"] = _div(_wall(spill, "peer"), _wall(spill, "athena-nos3"))
        out["floor_spill"] = _div(ours, floor)
        out["floor_spill_nos3"] = _div(ours_nos3, floor)
        out["floor_spill_paired"] = _paired(spill, "athena", "floor")
        out["floor_spill_wall"] = _div(_wall(spill, "athena"), _wall(spill, "floor"))
        if peer is not None and floor is not None and ours_nos3 is not None:
            out["above_floor_us"] = {
                "ours": (ours_nos3 - floor) / rows * 1e6,
                "peer": (peer - _cpu(spill, "floor-peer") if _cpu(spill, "floor-peer") else peer - floor) / rows * 1e6,
            }
            out["peer_spill_above"] = _div(out["above_floor_us"]["peer"], out["above_floor_us"]["ours"])
        out["appflow_floor"] = _div(_cpu(spill, "appflow"), _cpu(spill, "floor-1000"))
    if inline:
        out["peer_inline"] = _div(_cpu(inline, "peer"), _cpu(inline, "athena"))
        out["floor_inline"] = _div(_cpu(inline, "athena"), _cpu(inline, "floor"))
        rows = inline["rows"]
        if _cpu(inline, "peer") is not None:
            floor_peer = _cpu(inline, "floor-peer") or _cpu(inline, "floor")
            ours_above = ((_cpu(inline, "athena") or 0) - (_cpu(inline, "floor") or 0)) / rows * 1e6
            peer_above = ((_cpu(inline, "peer") or 0) - (floor_peer or 0)) / rows * 1e6
            out["inline_above_us"] = {"ours": ours_above, "peer": peer_above}
            out["peer_inline_above"] = _div(peer_above, ours_above)
    mem = results.get("memory", {})
    if mem.get("runs"):
        small = mem["runs"].get(f"athena@{mem['rows']}")
        big = mem["runs"].get(f"athena@{mem['big_rows']}")
        if small and big:
            out["rss"] = _div(big["peak_rss_kib"], small["peak_rss_kib"])
            out["floor_big"] = _div(big["cpu"], (mem["runs"].get(f"floor@{mem['big_rows']}") or {}).get("cpu"))
        psmall = mem["runs"].get(f"peer@{mem['rows']}")
        pbig = mem["runs"].get(f"peer@{mem['big_rows']}")
        if psmall and pbig:
            out["rss_peer"] = _div(pbig["peak_rss_kib"], psmall["peak_rss_kib"])
    cold = results.get("coldstart", {})
    for fn in ("athena", "appflow"):
        for kind in ("as built", "without .pyc"):
            c = cold.get(fn, {}).get(kind)
            if c:
                suffix = "" if kind == "as built" else "_nopyc"
                out[f"cold_{fn}{suffix}"] = _div(c["cold"], c["floor_import"])
                out[f"cold_{fn}{suffix}_import"] = _div(c["import"], c["floor_import"])
    sc = results.get("scaling", {})
    if sc.get("median"):
        med = sc["median"]
        first = med.get("1")
        out["scaling"] = {k: _div(first, v) for k, v in med.items()}
    return out


# ---------------------------------------------------------------------------------------------- plots


def plots(results: dict[str, Any], img_dir: Path) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    img_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    tp = results.get("throughput", {})
    if tp:
        fig, axes = plt.subplots(1, len(tp), figsize=(6 * len(tp), 3.8), squeeze=False)
        for ax, (name, workload) in zip(axes[0], tp.items(), strict=True):
            variants = [v for v in VARIANT_LABELS if v in workload["variants"]]
            rows = workload["rows"]
            cpu = [workload["variants"][v]["cpu"] / rows * 1e6 for v in variants]
            wall = [workload["variants"][v]["wall"] / rows * 1e6 for v in variants]
            y = list(range(len(variants)))
            ax.barh([i + 0.2 for i in y], cpu, height=0.4, label="client CPU", color="#4477aa")
            ax.barh([i - 0.2 for i in y], wall, height=0.4, label="wall", color="#bbbbbb")
            ax.set_yticks(y, [VARIANT_LABELS[v].replace("**", "") for v in variants], fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel("microseconds per row (lower is better)")
            ax.set_title(f"{name}: {rows:,} rows x {len(results['meta']['columns'])} columns", fontsize=10)
            ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        path = img_dir / "bench-throughput.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made["throughput"] = path.name
    mem = results.get("memory", {})
    if mem.get("runs"):
        names = [n for n in ("athena", "peer", "floor") if f"{n}@{mem['rows']}" in mem["runs"]]
        fig, ax = plt.subplots(figsize=(6, 3.4))
        for i, size in enumerate((mem["rows"], mem["big_rows"])):
            values = [mem["runs"][f"{n}@{size}"]["peak_rss_kib"] / 1024 for n in names]
            ax.bar([j + (i - 0.5) * 0.38 for j in range(len(names))], values, width=0.38, label=f"{size:,} rows")
        ax.set_xticks(
            range(len(names)), [{"athena": "ours (Athena)", "peer": "peer", "floor": "floor"}[n] for n in names]
        )
        ax.set_ylabel("peak RSS (MiB)")
        ax.set_title("Peak RSS of one read in a fresh process", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = img_dir / "bench-memory.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made["memory"] = path.name
    sc = results.get("scaling", {})
    if sc.get("median"):
        ks = sorted(int(k) for k in sc["median"])
        times = [sc["median"][str(k)] for k in ks]
        fig, ax = plt.subplots(figsize=(6, 3.4))
        ax.plot(ks, times, "o-", label="measured (median)")
        ax.plot(ks, [times[0] / k for k in ks], "--", color="#999999", label="ideal: time(1) / splits")
        for k, t in zip(ks, times, strict=True):
            ax.annotate(f"{times[0] / t:.1f}x", (k, t), textcoords="offset points", xytext=(4, 6), fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("splits (parallel ReadRecords)")
        ax.set_ylabel("query time (s)")
        ax.set_title(f"{sc['rows']:,} rows, pages of {sc['page_size']}, {sc['latency_ms']:g} ms per page", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = img_dir / "bench-scaling.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made["scaling"] = path.name
    return made


# --------------------------------------------------------------------------------------------- report


def write(results: dict[str, Any], out_md: Path, img_dir: Path) -> None:
    results.setdefault("meta", {}).setdefault("columns", [])
    if not results["meta"]["columns"]:
        from benchmarks.run import COLUMNS

        results["meta"]["columns"] = COLUMNS
    made = plots(results, img_dir)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(img_dir, out_md.parent)
    text = "\n".join(render(results, made, rel)) + "\n"
    out_md.write_text(keep_section(out_md, text, "scale"))  # benchmarks.scale's section, written by that run


def render(results: dict[str, Any], made: dict[str, str], img_rel: str) -> list[str]:
    meta = results.get("meta", {})
    a = analyse(results)
    m = meta.get("machine", {})
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m benchmarks.run`: edit benchmarks/report.py, not this file. -->",
        "",
        f"Measured with `{meta.get('command', 'python -m benchmarks.run')}` on {meta.get('started', '?')}"
        + (" (**--quick: a smoke run with tiny sizes; these numbers mean nothing**)" if meta.get("quick") else "")
        + ".",
        "",
        f"- Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory', '?')}, {m.get('os', '?')}.",
        f"- Load average (1/5/15 min): {meta.get('load_start')} at the start, {meta.get('load_end')} at the end "
        f"(a shared machine; every ratio below compares runs taken in turn under the same load).",
        f"- Our code ran in: {meta.get('ours_env', '?')}. Commit {m.get('commit', '?')}.",
        f"- The peer: {_peer_line(results)}.",
        f"- Duration: {meta.get('duration_s', '?')} s.",
        "",
    ]
    if results.get("errors"):
        lines += ["**Sections that failed in this run:**", ""]
        lines += [f"- {name}: `{err}`" for name, err in results["errors"].items()]
        lines.append("")
    lines += summary_section(results, a)
    lines += method_section(results)
    lines += throughput_section(results, a, made, img_rel)
    lines += memory_section(results, a, made, img_rel)
    lines += cold_section(results, a)
    lines += sizes_section(results)
    lines += scaling_section(results, a, made, img_rel)
    lines += profile_section()
    lines += reproduce_section()
    return lines


def _peer_line(results: dict[str, Any]) -> str:
    note = str(results.get("meta", {}).get("peer_note", "?"))
    repo = str(Path(__file__).resolve().parents[1]) + "/"
    note = note.replace(repo, "")
    for workload in results.get("throughput", {}).values():
        peer = workload.get("variants", {}).get("peer")
        if peer:
            return (
                f"athena-federation {peer.get('sdk')} from PyPI, CPython {peer.get('python')}, pyarrow "
                f"{peer.get('pyarrow')} ({note})"
            )
    return note


def summary_section(results: dict[str, Any], a: dict[str, Any]) -> list[str]:
    rows: list[list[str]] = []
    tp = results.get("throughput", {})
    spill = tp.get("spill")
    if spill and a.get("peer_spill") is not None:
        above = a.get("above_floor_us") or {}
        rows.append(
            [
                "Athena read >= 3x the peer's throughput",
                f"{_ratio(a['peer_spill'])} end to end (client CPU, {spill['rows']:,} rows, spill; "
                f"{_ratio(a.get('peer_inline'))} inline, {tp['inline']['rows']:,} rows). Above the floor: ours "
                f"{_num(above.get('ours'))} us/row, the peer {_num(above.get('peer'))} us/row = "
                f"{_ratio(a.get('peer_spill_above'))}",
                _verdict(a["peer_spill"] >= TARGETS["peer"]),
                "Both pay the same floor (HTTP + JSON decoding, ~20 us/row, most of the CPU): 3x the peer end to end "
                "would mean reading and decoding the API's pages in about half the time the floor takes, before "
                "doing any work. Above the floor ours costs less than the peer (figures here); inline, the peer's "
                "to_pydict round trip costs it several times ours. On the spill path the peer does little (pa.array, "
                "one unencrypted object, no PUT here) while ours builds typed Arrow with validation, encrypts every "
                "block and runs the overlap guard.",
            ]
        )
    elif spill:
        rows.append(
            [
                "Athena read >= 3x the peer's throughput",
                "peer not measured",
                "n/a",
                results.get("meta", {}).get("peer_note", ""),
            ]
        )
    if spill and a.get("floor_spill") is not None:
        ok = a["floor_spill"] <= TARGETS["floor"]
        rows.append(
            [
                "Athena read within 1.5x of the floor",
                f"{_ratio(a['floor_spill'])} (client CPU, S3 PUTs included; {_ratio(a.get('floor_spill_nos3'))} "
                f"without; {_ratio(a.get('floor_inline'))} inline; {_ratio(a.get('floor_spill_wall'))} in wall time; "
                f"repetition by repetition, median {_ratio(a.get('floor_spill_paired'))})",
                _verdict(ok),
                ""
                if ok
                else "the work above the floor: Arrow building (~2.5 us/row), per-page tokens and fingerprints, block "
                "serialization, encryption and PUTs; the floor itself is ~20 us/row (see the profile section)",
            ]
        )
    if a.get("rss") is not None:
        mem = results["memory"]
        small = mem["runs"][f"athena@{mem['rows']}"]["peak_rss_kib"]
        big = mem["runs"][f"athena@{mem['big_rows']}"]["peak_rss_kib"]
        ok = a["rss"] <= TARGETS["rss"]
        rows.append(
            [
                "1M-row spill read's peak RSS <= 1.3x the 100k read's",
                f"{_ratio(a['rss'])} ({_mib(big)} vs {_mib(small)}; the peer: {_ratio(a.get('rss_peer'))})",
                _verdict(ok),
                "" if ok else "memory grows with the table: see the memory section",
            ]
        )
    for fn, label in (("athena", "Athena"), ("appflow", "AppFlow")):
        if a.get(f"cold_{fn}") is not None:
            c = results["coldstart"][fn]["as built"]
            nopyc = results["coldstart"][fn].get("without .pyc")
            ok = a[f"cold_{fn}"] <= TARGETS["cold"]
            extra = (
                f"; the package without its .pyc: {_ratio(a.get(f'cold_{fn}_nopyc'))}, {_ms(nopyc['cold'])} vs "
                f"{_ms(nopyc['floor_import'])}"
                if nopyc
                else ""
            )
            rows.append(
                [
                    f"{label} handler cold start within 1.5x of its import floor",
                    f"{_ratio(a[f'cold_{fn}'])} (import + first request {_ms(c['cold'])} vs importing its "
                    f"dependencies {_ms(c['floor_import'])}; import alone {_ratio(a.get(f'cold_{fn}_import'))}; "
                    f"fastest runs {_ratio(_div(c.get('cold_min'), c.get('floor_min')))}{extra})",
                    _verdict(ok),
                    ""
                    if ok
                    else "the first request's one-time work, mostly creating the Secrets Manager client (botocore "
                    "loads its service model and endpoint rules, 100-150 ms) and the call: see the cold start section",
                ]
            )
    sc = a.get("scaling")
    if sc:
        top = max(int(k) for k in sc)
        ok = (sc.get(str(top)) or 0) >= TARGETS["scaling"] if top >= 8 else None
        lat = results["scaling"]["latency_ms"]
        rows.append(
            [
                f"{top} splits at {lat:g} ms page latency >= 5x one split",
                f"{_ratio(sc.get(str(top)))} ({', '.join(f'{k}: {_ratio(sc[k])}' for k in sorted(sc, key=int))})",
                _verdict(ok),
                "" if ok or ok is None else "see the scaling section",
            ]
        )
    if not rows:
        return []
    return [
        "## Targets",
        "",
        *_table(["target", "measured (ratio, absolutes)", "verdict", "why, where missed"], rows),
        "",
    ]


def method_section(results: dict[str, Any]) -> list[str]:
    meta = results.get("meta", {})
    plan = meta.get("plan", {})
    cols = ", ".join(meta.get("columns", []))
    return [
        "## Method",
        "",
        f"- **Workloads**: the demo API's `contacts` entity (cursor pagination, pages of 500 as the demo spec asks), "
        "served over loopback HTTP by `python -m demo_api` in a process of its own, with "
        f"{plan.get('inline_rows', '?'):,} "
        f"rows (answered inline), {plan.get('rows', '?'):,} rows (spilled) and {plan.get('big_rows', '?'):,} rows "
        f"(spilled; memory). Every variant reads the same 10 typed columns: {cols} "
        "(int64 x2, string x3, double, decimal(12,2), date, boolean, timestamp), while the API sends all 15 fields.",
        "- **What is timed**: wall time and the client process's CPU time (user + system, all threads, so background "
        "S3 uploads count). The demo API and moto's S3 run in other processes; their CPU is not counted. On this "
        "2-core machine one demo API process generates about 10-15k rows/s, so wall time is mostly the server's: "
        "**client CPU is the figure the ratios use** (it is what the connector costs in Lambda, billed by memory x "
        "time, once the API answers quickly), wall time is shown beside it.",
        "- **Side by side**: each variant is a warm worker process (like a warm Lambda); the first read of each "
        "checks its result (rows, sum of ids, non-null count of every column) against the floor's, then the variants "
        f"take turns, {plan.get('reps', '?')} repetitions, the order rotating each time; medians are reported.",
        "- **Floor**: `requests` GETs of every page and `json.loads` of each body, nothing else "
        "(`benchmarks/pages.py`, shared by the peer's harness).",
        "- **Ours, Athena**: `athena_connector.handler.lambda_handler` with a ReadRecordsRequest JSON event "
        f"(serde v5, maxBlockSize {16_000_000:,}, maxInlineBlockSize {3_465_000:,}, as Athena sends), one split "
        "(the whole table), timing the handler plus `json.dumps` of its answer. Spill: AES-GCM encrypted blocks "
        "PUT to moto's S3 server (separate process, PUT time included), or, for the like-for-like comparison with "
        "the peer, a store that drops the blocks (PUTs excluded, encryption still done).",
        "- **Ours, AppFlow**: `appflow_connector.handler.lambda_handler` with QueryDataRequest events "
        "(maxResults 1,000, the SDK default; credentials from Secrets Manager on moto), paging until nextToken is "
        "null; its floor reads pages of 1,000.",
        "- **The peer**: `athena-federation` 0.1.6 from PyPI in its own CPython 3.12 virtualenv (pyarrow 17.0.0), "
        "following the reference harness (peers-and-rest-client.md, 1.8): the data source yields one column-major "
        "dict per HTTP page of the same API (rows transposed, ISO timestamps converted to epoch milliseconds: "
        "pyarrow cannot cast `...Z` strings; decimal and date strings are cast by pyarrow itself), the SDK as "
        "shipped (5 MB threshold), `smart_open` replaced by an in-memory sink (**its S3 PUT is excluded**), timing "
        "`process_event` plus `json.dumps`.",
        "",
    ]


def throughput_section(results: dict[str, Any], a: dict[str, Any], made: dict[str, str], img: str) -> list[str]:
    tp = results.get("throughput")
    if not tp:
        return []
    lines = ["## Throughput (items 1-4)", ""]
    for name, title in (("inline", "Inline answer"), ("spill", "Spilled answer")):
        w = tp.get(name)
        if not w:
            continue
        rows = w["rows"]
        floor = w["variants"]["floor"]["cpu"]
        peer = w["variants"].get("peer", {}).get("cpu")
        body = []
        for v, label in VARIANT_LABELS.items():
            if v not in w["variants"]:
                continue
            r = w["variants"][v]
            ref_floor = w["variants"]["floor-1000"]["cpu"] if v == "appflow" else floor
            body.append(
                [
                    label,
                    f"{_s(r['cpu'])} ({_s(r['cpu_min'])}-{_s(r['cpu_max'])})",
                    _rate(rows, r["cpu"]),
                    _ratio(_div(r["cpu"], ref_floor)),
                    _ratio(_div(peer, r["cpu"])) if v.startswith("athena") and peer else "",
                    f"{_s(r['wall'])}",
                    _rate(rows, r["wall"]),
                    {True: "yes", False: "**NO**", None: "-"}[r.get("same_result")],
                    _answer(r),
                ]
            )
        lines += [
            f"### {title}: {rows:,} rows x 10 columns (load {w['load_before'][0]} -> {w['load_after'][0]})",
            "",
            *_table(
                [
                    "variant",
                    "client CPU, median (min-max)",
                    "rows/s per CPU-s",
                    "CPU vs floor",
                    "peer CPU / ours",
                    "wall, median",
                    "rows/s (wall)",
                    "same result",
                    "answer",
                ],
                body,
            ),
            "",
        ]
    above = a.get("above_floor_us")
    if above:
        lines += [
            f"What each adds above the floor (spill workload, client CPU per row): ours {_num(above['ours'])} us, "
            f"the peer {_num(above['peer'])} us (against the floor in its own interpreter): the peer costs "
            f"{_ratio(a.get('peer_spill_above'))} ours. Inline: ours {_num(a['inline_above_us']['ours'])} us, "
            f"the peer {_num(a['inline_above_us']['peer'])} us ({_ratio(a.get('peer_inline_above'))}).",
            "",
        ]
    if "throughput" in made:
        lines += [f"![CPU and wall time per row]({img}/{made['throughput']})", ""]
    return lines


def _answer(r: dict[str, Any]) -> str:
    if r.get("calls"):
        return f"{r['calls']} QueryData calls"
    kind = r.get("response") or ""
    size = r.get("response_bytes")
    text = {"ReadRecordsResponse": "inline", "RemoteReadRecordsResponse": "spilled"}.get(kind, "")
    if r.get("blocks"):
        text += f", {r['blocks']} blocks"
    if size and kind:
        text += f", {size:,} B response"
    return text


def memory_section(results: dict[str, Any], a: dict[str, Any], made: dict[str, str], img: str) -> list[str]:
    mem = results.get("memory")
    if not mem or not mem.get("runs"):
        return []
    body = []
    for key, r in mem["runs"].items():
        name, rows = key.split("@")
        body.append(
            [
                {
                    "athena": "ours: Athena ReadRecords (spill to S3)",
                    "peer": "peer (spill to memory sink)",
                    "floor": "floor",
                }[name],
                f"{int(rows):,}",
                _mib(r["ready_rss_kib"]),
                _mib(r["peak_rss_kib"]),
                _s(r["cpu"]),
                _s(r["wall"]),
            ]
        )
    lines = [
        "## Peak memory (item 5)",
        "",
        "One read per fresh process (one split, spilled), after its imports and setup; peak RSS is the process's "
        "high-water mark (`ru_maxrss`).",
        "",
        *_table(["variant", "rows", "RSS after setup", "peak RSS", "client CPU", "wall"], body),
        "",
        f"Ours: the 1M-row read peaks at {_ratio(a.get('rss'))} the 100k read (target <= 1.3x); the peer "
        f"{_ratio(a.get('rss_peer'))} (it holds the whole result, then spills it as one object). "
        f"Ours on 1M rows used {_ratio(a.get('floor_big'))} the floor's CPU.",
        "",
    ]
    if "memory" in made:
        lines += [f"![peak RSS]({img}/{made['memory']})", ""]
    return lines


def cold_section(results: dict[str, Any], a: dict[str, Any]) -> list[str]:
    cold = results.get("coldstart")
    if not cold or ("athena" not in cold and "appflow" not in cold):
        return []
    body = []
    labels = {"athena": "Athena (ReadRecords, LIMIT 100, inline)", "appflow": "AppFlow (QueryData, 100 records)"}
    for fn in ("athena", "appflow"):
        for kind in ("as built", "without .pyc"):
            c = cold.get(fn, {}).get(kind)
            if not c:
                continue
            body.append(
                [
                    f"{labels[fn]}, {kind}",
                    _ms(c["floor_import"]),
                    _ms(c["import"]),
                    _ms(c["first"]),
                    _ms(c["cold"]),
                    _ratio(_div(c["cold"], c["floor_import"])),
                    _ratio(_div(c.get("cold_min"), c.get("floor_min"))),
                    _ms(c["second"]),
                ]
            )
    lines = [
        "## Cold start (item 6)",
        "",
        f"Fresh processes ({cold.get('env', '')}), floor and handler in turn, medians of "
        f"{results.get('meta', {}).get('plan', {}).get('cold_reps', '?')}. **Floor**: importing every third-party "
        "module the handler has loaded by the end of its first request (found by running it once), nothing of ours. "
        "**Handler**: importing it, then its first request, then the same request again (warm). The clock starts "
        "after interpreter start-up, the same for both. The first request reads the API key from Secrets Manager "
        "(moto), as in Lambda. **As built**: the `sam build` packages, which carry `.pyc` compiled by CPython 3.12 "
        "(`deploy/build_function.py`); **without .pyc**: the same packages without them (what a build host without "
        "CPython 3.12 produces): `/var/task` is read-only, so every cold start then compiles every module it imports "
        "(nothing is cached here either). The floor is measured from the same package as the handler. On this "
        "shared machine the same import takes one of two speeds from run to run (e.g. 600 or 870 ms for the Athena "
        "floor), so the ratio of the fastest runs is shown beside the ratio of the medians; the verdicts use the "
        "medians.",
        "",
        *_table(
            [
                "handler (first request)",
                "floor: import deps",
                "import handler",
                "first request",
                "cold = import + first",
                "cold / floor",
                "fastest runs: cold / floor",
                "same request, warm",
            ],
            body,
        ),
        "",
    ]
    for fn in ("athena", "appflow"):
        if fn in cold:
            c = cold[fn]
            failed = sorted(
                {n for k in ("as built", "without .pyc") for n in (c.get(k) or {}).get("failed_imports", [])}
            )
            lines.append(
                f"- {fn}: {c['modules']} third-party modules from {', '.join(c['packages'])}"
                + (f" (not importable on their own, left out: {', '.join(failed)})" if failed else "")
            )
    lines.append("")
    return lines


def sizes_section(results: dict[str, Any]) -> list[str]:
    sz = results.get("sizes")
    if not sz:
        return []
    lines = ["## Package sizes (item 7)", ""]
    if sz.get("error"):
        lines += [f"Not measured: {sz['error']}", ""]
    body = []
    for f in sz.get("functions", []):
        body.append(
            [
                f"{f['function']} ({f['logical_id']})",
                f"{f['size_mib']:.1f} MiB",
                f"{(f.get('zipped_bytes') or 0) / MIB:.1f} MiB",
                f"{f['size_mib'] / LAMBDA_UNZIPPED_MIB * 100:.0f}% of {LAMBDA_UNZIPPED_MIB} MiB",
                f"{f['budget_mib']:g} MiB ({'ok' if f['ok'] else 'OVER'})",
                ", ".join(f"{n} {b / MIB:.1f}" for n, b in [(x["name"], x["bytes"]) for x in f["largest"][:4]]),
            ]
        )
    peer = sz.get("peer")
    if peer:
        body.append(
            [
                "peer: athena-federation 0.1.6 installed (for comparison)",
                f"{peer['bytes'] / MIB:.1f} MiB",
                "-",
                f"{peer['bytes'] / MIB / LAMBDA_UNZIPPED_MIB * 100:.0f}% of {LAMBDA_UNZIPPED_MIB} MiB",
                "-",
                ", ".join(f"{n} {b / MIB:.1f}" for n, b in peer["largest"][:4]),
            ]
        )
    if body:
        lines += [
            "`sam build` of both functions (Makefile builds for the python3.12 runtime, boto3 left to the runtime), "
            "measured by `deploy/package_sizes.py`; zipped = deflate level 6, as SAM uploads.",
            "",
            *_table(["function", "unzipped", "zipped", "of Lambda's limit", "budget", "largest (MiB)"], body),
            "",
        ]
    return lines


def scaling_section(results: dict[str, Any], a: dict[str, Any], made: dict[str, str], img: str) -> list[str]:
    sc = results.get("scaling")
    if not sc or not sc.get("median"):
        return []
    ks = sorted(sc["median"], key=int)
    body = []
    for k in ks:
        runs = sc["runs"][k]
        body.append(
            [
                k,
                _s(sc["median"][k]),
                ", ".join(_s(r["query_s"]) for r in runs),
                _ratio((a.get("scaling") or {}).get(k)),
                f"{int(k) and (sc['rows'] / sc['median'][k] / 1000):,.1f}k",
            ]
        )
    lines = [
        "## Scaling with splits (item 8)",
        "",
        f"The local runner (`saas-connectors query`, which calls the Athena handler as Athena does: GetSplits, then "
        f"ReadRecords of every split in parallel, up to 8 at a time, in one process) against a demo API that waits "
        f"{sc['latency_ms']:g} ms before every page: {sc['rows']:,} contacts in pages of {sc['page_size']}, "
        f"`{sc['sql']}`, with the contacts split into 1, 2, 4 or 8 id ranges by a copy of the demo spec "
        "(`splits: {by: id_range, count: N}`). Query time is the runner's own (`--explain`: from parsing the SQL to "
        "the result), so process start-up is left out; the first calls of each query still pay the in-process "
        "connector's cold start.",
        "",
        *_table(["splits", "query time, median", "runs", "speed-up vs 1 split", "rows/s"], body),
        "",
        *(
            ["The runner's `--explain` output did not show its timer: these times are whole processes.", ""]
            if any(r.get("timer") == "process" for runs in sc["runs"].values() for r in runs)
            else []
        ),
        "In Athena each split is a Lambda of its own; here they share one process (the runner) and one demo API "
        "process, whose record generation (one core, GIL-bound, about 10-15k rows/s here) caps what parallel readers "
        "can get: pages of 50 keep the per-page latency dominant (8 readers ask for about 7k rows/s). With pages of "
        "100 (40,000 rows) an earlier run on this machine reached 4.55x at 8 splits, the demo API then being the "
        "bottleneck. The runner's fixed cost per query (its in-process connector's first calls, about 0.5-1 s) is in "
        "every figure and weighs most on the 8-split one.",
        "",
    ]
    if "scaling" in made:
        lines += [f"![query time by splits]({img}/{made['scaling']})", ""]
    return lines


def profile_section() -> list[str]:
    return [
        "## What the profile showed, and what changed",
        "",
        "Profiled with py-spy (`py-spy record -f raw`, samples of running threads only) on workers reading 100k "
        "rows, and cProfile / `-X importtime` for cold starts. To see the work above the floor without the demo "
        "API's noise, the 100k-row read was also replayed in process (every page recorded once, then served from "
        "memory through a requests adapter to both the floor and our handler). Figures in this section were "
        "measured while developing the suite on this machine (side by side, same load), not in the run above.",
        "",
        "**Athena read, first round.** About 60-65% of the read's CPU was the floor's own work (requests + "
        "`json.loads`), 21% building Arrow (`ArrowBuilder.build_batch`), 16% hashing every record's primary key for "
        "the client's overlap guard, the rest page tokens and the spill writer. Changed:",
        "",
        "- `athena_connector/arrow_build.py`: (1) the raw columns of top-level fields are read with one "
        "`operator.itemgetter` per record and transposed with one `zip` (both loops in C) instead of one `dict.get` "
        "per field per record, falling back to the old path when a record lacks a key; (2) dates try Arrow's exact "
        "`YYYY-MM-DD` cast before trimming and slicing (the cast accepts nothing else, so the result is the same); "
        "(3) timestamps try one cast to `timestamp[ms, UTC]` (Arrow refuses finer digits, never rounds) before the "
        "microsecond path and its floor division; (4) no cast when the inferred type already is the declared one. "
        "`build_batch` for the 10 benchmark columns: 4.2 -> 2.35 us/row (CPython 3.11). A randomized equivalence "
        "check against the previous code (3,200 cases: malformed, mixed-type, nested, zoned and zone-less values, "
        "both timestamp modes) found no difference; `tests/athena` passes unchanged.",
        "- `shared/tokens.py` `key_hash`: the JSON encoder is built once, and a one-integer or one-string key is "
        "written directly (the same text, so the same hash; checked on 20,000 random keys): 5.1 -> 1.6 us per key. "
        "AppFlow's copy of it is gone; both connectors use this one.",
        "",
        "**Athena read, second round.** Replayed, the floor cost 9-10 us/row and our read 7.6 us/row more. Of that, "
        "the overlap guard was still the largest part (hashing all 500 keys of a page: 2.6-2.8 us/row, more than "
        "building the page's Arrow columns), then Arrow building (~2.2-2.5 us/row, of which ~0.3 ms per page is fixed: "
        "pyarrow calls for 10 columns), then requests re-reading the proxy environment for every request "
        "(`merge_environment_settings`, ~0.5 ms a request here). Changed:",
        "",
        "- `shared/client.py` `_drop_overlap`: repeats re-served across a page boundary lead the next page, so the "
        "page is checked 64 keys (the guard's length) at a time from its start, going on while the last checked "
        "record was a repeat, and only the last 64 records are hashed for the next guard: at most 128 of 500 keys "
        "per page. Exact for any shift of up to 64 records, as before; for a longer run of repeats it drops what the "
        "guard remembers, as before (`tests/client/test_paginators.py`, the two overlap tests).",
        "- `shared/transport.py` `Session`: the environment's proxy and CA-bundle settings are read once per origin "
        "instead of once per request (proxies still apply: `tests/client/test_proxies.py`).",
        "",
        "Replayed after both: our read 5.7-6.7 us/row above a 9-10 us/row floor. Left: Arrow building (~2.5 us/row; "
        "the Python transposition of the JSON rows is already the fastest of the pure-Python ways measured, "
        "0.31 us/row against 0.41-0.43 for per-column `map`/comprehensions), freeing each page's records "
        "(~1 us/row, which the floor pays as well), per-page tokens and fingerprints (~0.4 us/row), block "
        "serialization, AES-GCM and PUTs (~0.5 us/row; one 5.4 MB PUT to moto costs 16-18 ms of client CPU). "
        "Measured and not adopted: orjson decodes these pages 2.4x faster than `json.loads` (1.8 vs 4.4 us/row) but "
        "silently turns integers beyond 64 bits into floats (18446744073709551616 -> 1.8446744073709552e+19), "
        "which a `decimal` or `json` column would then carry wrong; typed `pa.array(records, type=struct)` "
        "transposes in C (0.7 us/row) but converts leniently (1.5 -> 1 for an int64, True -> 1.0 for a double).",
        "",
        "**AppFlow QueryData** costs about 4x its floor: per record, every value is coerced in Python "
        "(`Extractor.typed_row`, 24%), written as JSON by a Python encoder (`record_json`, 25%) and its key hashed "
        "for AppFlow's own guard (which also covers resuming in the middle of a page). A faster path would encode "
        "records without the typed intermediate when no local filter needs it.",
        "",
        "**Cold start.** (1) The packages used to carry no `.pyc` and `/var/task` is read-only, so each cold start "
        "compiled every module it imports, ours and the dependencies' alike: `deploy/build_function.py` now "
        "byte-compiles them with CPython 3.12 (`checked-hash` `.pyc`, valid whatever the file times in the zip), "
        "which cuts a cold start by a third to a half (the table compares both). (2) The first request allocates "
        "enough (botocore's service models for Secrets Manager, the spec) to trigger full garbage collections, each "
        "walking the hundreds of thousands of objects the imports made: `shared/coldstart.py` moves them to the "
        "permanent generation (`gc.freeze()`) at the end of each handler module, which took the Athena handler's "
        "first request from 230-360 ms to about 140 ms (cProfile showed the spec loader's line index and PyYAML's "
        "nodes taking 120 ms: collections triggered there). The rest of the first request is reading the API key "
        "from Secrets Manager (boto3 session and client, about 100-150 ms; AppFlow's first request also imports "
        "boto3 and powertools' parameters, which its floor counts too). Found, not changed: a local virtualenv "
        "with pandas makes pyarrow import it on its first conversion (0.5-1 s once per process); the Lambda "
        "packages carry no pandas, so the suite hides it from our processes when they run from the virtualenv.",
        "",
    ]


def reproduce_section() -> list[str]:
    return [
        "## Reproduce",
        "",
        "```bash",
        "make setup                                   # the project's virtualenv",
        ".venv/bin/pip install matplotlib              # for the plots (optional)",
        ".venv/bin/python -m benchmarks.run            # everything: docs/benchmarks.md, docs/img/bench-*.png",
        ".venv/bin/python -m benchmarks.run --quick    # a smoke run in seconds (what CI runs)",
        ".venv/bin/python -m benchmarks.run --only throughput --reps 3",
        "```",
        "",
        "The first full run creates `benchmarks/.venv-peer` (CPython 3.12 + `athena-federation==0.1.6` from PyPI; "
        "`python -m benchmarks.peer_env` does only that) and builds both functions with `sam build` into "
        "`benchmarks/out/sam-build`; our code then runs Lambda-like, from those packages under CPython 3.12 (`--venv` "
        "runs it from the project's virtualenv instead). Raw results: `benchmarks/out/results.json`; logs: "
        "`benchmarks/out/run.log`; `python -m benchmarks.report` re-renders the report from the results.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.harness import OUT, REPO

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=OUT / "results.json")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--img-dir", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args(argv)
    write(json.loads(args.results.read_text()), args.out, args.img_dir)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
