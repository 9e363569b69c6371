"""Leaderboard outputs: markdown table, CSV (summary and per file), JSON, a PNG per metric against
bitrate, and a static HTML page with the table, the plots and audio players (original beside each codec).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from codeckit.bench.data import Item
from codeckit.bench.runner import decoded_path, work_dir
from codeckit.bench.specs import CodecEntry
from codeckit.bench.summary import CodecSummary, MetricSummary, finite
from codeckit.bench.table import markdown_table
from codeckit.fileio import atomic_path, write_text_atomic
from codeckit.metrics.stability import STABILITY_LABELS, STABILITY_NOTE
from codeckit.metrics.suite import METRICS

QUALITY_PLOT_METRICS = ("pesq_wb", "stoi", "visqol_speech")  # the quality-vs-bitrate figure, where computed
DELAY_TOLERANCE_MS = {"waveform": 1.0, "envelope": 2.0}  # how far an estimate may be from a declaration
# classic codecs drawn as one curve over their bitrates (name, colour); neural codecs are points in other colours
CURVE_KINDS = {"opus": ("Opus", "tab:blue"), "codec2": ("Codec2", "tab:orange")}
POINT_COLORS = ("tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")

BITRATE_NOTE = (
    "Nominal kbps: the codec's declaration (frame rate x log2 codebook size per level; the target for Opus; "
    "the mode for Codec2). Effective kbps: the empirical entropy of each level's tokens over this set "
    "(neural codecs), or the bytes actually produced (Opus packets without Ogg framing; Codec2 bit file). "
    "Disk kbps: what files on disk take: a neural codec's tokens as entropy-coded .ckc files, header included, "
    "where its model directory holds a context model (codeckit compress fit), else -; a classic "
    "codec's bytes produced."
)


def _fmt(x: float | None, spec: str) -> str:
    return format(x, spec) if finite(x) else "-"


def _metric_cell(s: CodecSummary, m: str) -> str:
    return _mean_cell(s.metrics[m])


def _mean_cell(ms: MetricSummary) -> str:
    """A mean as shown, with the failures counted ('-' when nothing was computed)."""
    n = ms.n_ok + ms.n_failed
    if ms.mean is None:
        return f"failed ({ms.n_failed}/{n})" if ms.n_failed else "-"
    cell = f"{ms.mean:.3f}" if abs(ms.mean) < 100 else f"{ms.mean:.1f}"
    return f"{cell} ({ms.n_failed}/{n} failed)" if ms.n_failed else cell


def _delay_cell(s: CodecSummary) -> str:
    return f"{_fmt(s.delay_ms, '.1f')} ({'decl.' if s.delay_source == 'declared' else 'est.'})"


def _stability_cell(s: CodecSummary, key: str) -> str:
    ms = s.stability.get(key)
    if ms is None:
        return "-"
    if ms.mean is None:
        return f"failed ({ms.n_failed}/{ms.n_ok + ms.n_failed})"
    return f"{ms.mean:.3f}" + (f" ({ms.n_failed}/{ms.n_ok + ms.n_failed} failed)" if ms.n_failed else "")


def _original_cell(s: CodecSummary, m: str) -> str:
    """The original audio's value of transcript metric `m` over the files the codec was scored on."""
    return _mean_cell(s.original[m]) if m in s.original else "-"


def _columns(metrics: Sequence[str]) -> list[tuple[str, str]]:
    """(metric, "codec" or "original") per metric column: a transcript metric is followed by the original's."""
    return [(m, w) for m in metrics for w in (("codec", "original") if METRICS[m].needs_text else ("codec",))]


def table(summaries: Sequence[CodecSummary], metrics: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the leaderboard (strings, as shown)."""
    header = ["Codec", "Nominal kbps", "Effective kbps", "Disk kbps", "Delay ms"]
    arrow = {m: "↑" if METRICS[m].higher_is_better else "↓" for m in metrics}
    header += [f"{METRICS[m].label}{' orig.' if w == 'original' else ''} {arrow[m]}" for m, w in _columns(metrics)]
    header += list(STABILITY_LABELS.values())
    header += ["Enc RTF", "Dec RTF", "Files"]
    rows = []
    for s in summaries:
        row = [s.name, _fmt(s.nominal_bps and s.nominal_bps / 1000, ".2f")]
        row += [_fmt(s.effective_bps and s.effective_bps / 1000, ".2f")]
        row += [_fmt(s.disk_bps and s.disk_bps / 1000, ".2f"), _delay_cell(s)]
        row += [_metric_cell(s, m) if w == "codec" else _original_cell(s, m) for m, w in _columns(metrics)]
        row += [_stability_cell(s, k) for k in STABILITY_LABELS]
        row += [_fmt(s.encode_rtf, ".4f"), _fmt(s.decode_rtf, ".4f")]
        row.append(f"{s.files - s.failed_files}/{s.files}")
        rows.append(row)
    return header, rows


def markdown(summaries: Sequence[CodecSummary], metrics: Sequence[str]) -> str:
    """The leaderboard as a markdown table (the table of results.md, and what `codeckit bench` prints)."""
    return markdown_table(*table(summaries, metrics))


def _notes(summaries: Sequence[CodecSummary], metrics: Sequence[str], jobs: int) -> list[str]:
    notes = [BITRATE_NOTE]
    notes.append(
        "Delay ms: the codec's delay, removed from every file before scoring: the one it declares (decl.), else "
        "one delay estimated over the whole set (est.) by summed cross-correlation within +-250 ms, of the waveforms "
        "where they share phase, else of band envelopes (neural and parametric codecs), never per file."
    )
    for s in summaries:
        off = None if s.delay_estimate_ms is None or s.delay_ms is None else s.delay_estimate_ms - s.delay_ms
        if s.delay_source == "declared" and off is not None and abs(off) > DELAY_TOLERANCE_MS[s.delay_method]:
            notes.append(
                f"{s.name}: declares {s.delay_ms:.1f} ms but the set-wide {s.delay_method} cross-correlation "
                f"peaks at {s.delay_estimate_ms:.1f} ms (scored with the declaration)."
            )
    notes += [f"{METRICS[m].label}: computed at {METRICS[m].rate_note}." for m in metrics]
    notes += [
        f"{METRICS[m].label} orig.: the same {METRICS[m].label} of the original audio, over the files where the "
        f"codec's was computed; the difference is the codec's own cost."
        for m in metrics
        if METRICS[m].needs_text
    ]
    notes.append(STABILITY_NOTE)
    notes.append(f"RTF: seconds of compute per second of audio, one thread per process, {jobs} process(es) at once.")
    return notes


def _plot(summaries: Sequence[CodecSummary], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = METRICS[metric]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for s in summaries:
        mean = s.metrics[metric].mean
        if finite(s.effective_bps) and s.effective_bps > 0 and finite(mean):
            ax.scatter([s.effective_bps / 1000], [mean], s=30)
            ax.annotate(s.name, (s.effective_bps / 1000, mean), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("effective bitrate (kbps, log scale)")
    ax.set_ylabel(f"{spec.label} ({'higher' if spec.higher_is_better else 'lower'} is better)")
    ax.set_title(f"{spec.label} vs bitrate")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def quality_plot_svg(summaries: Sequence[CodecSummary], metrics: Sequence[str]) -> str | None:
    """The quality-vs-bitrate figure as SVG (text kept as text): one panel per quality metric, each neural codec
    a labelled point at its nominal bitrate, Opus and Codec2 one curve each over the bitrates benched.
    None when no quality metric of QUALITY_PLOT_METRICS was computed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = [m for m in QUALITY_PLOT_METRICS if m in metrics] or [m for m in metrics if METRICS[m].higher_is_better][
        :1
    ]
    if not panels:
        return None
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")  # 2, 3, 6 rather than 2x10^0
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "codeckit"}):
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), dpi=100, squeeze=False)
        for ax, m in zip(axes[0], panels):
            curves: dict[str, list[tuple[float, float]]] = {}
            for s in summaries:
                y, x = s.metrics[m].mean, s.nominal_bps
                if s.kind == "identity" or not (finite(y) and finite(x) and x > 0):
                    continue
                if s.kind in CURVE_KINDS:
                    curves.setdefault(s.kind, []).append((x / 1000, y))
                else:
                    color = POINT_COLORS[len(ax.collections) % len(POINT_COLORS)]
                    ax.scatter([x / 1000], [y], s=36, zorder=3, color=color)
                    ax.annotate(s.name, (x / 1000, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
            for kind, pts in curves.items():
                pts.sort()
                name, color = CURVE_KINDS[kind]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=name, color=color, alpha=0.8)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(plain)
            ax.xaxis.set_minor_formatter(plain)
            ax.set_xlabel("nominal bitrate (kbps, log scale)")
            ax.set_title(METRICS[m].label)
            ax.grid(True, which="both", alpha=0.3)
            if curves:
                ax.legend(fontsize=8)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _html(
    summaries: Sequence[CodecSummary],
    metrics: Sequence[str],
    plots: Sequence[str],
    examples: Sequence[tuple[str, str, list[tuple[str, str | None]]]],
    notes: Sequence[str],
    quality_svg: str | None = None,
) -> str:
    e = html.escape
    header, rows = table(summaries, metrics)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>codeckit leaderboard</title>',
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
        ".plots img{width:480px;margin:4px}audio{width:220px}</style></head><body>",
        "<h1>codeckit leaderboard</h1>",
        '<table id="leaderboard"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead><tbody>",
    ]
    parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
    parts.append("</tbody></table>")
    parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    if quality_svg:
        parts.append('<h2>Quality against bitrate</h2><figure id="quality-vs-bitrate">')
        parts.append(quality_svg)
        parts.append(
            "<figcaption>Each neural codec is a point at its nominal bitrate; Opus and Codec2 are curves over the "
            "bitrates benched.</figcaption></figure>"
        )
    parts.append('<h2>Metrics against bitrate</h2><div class="plots">')
    parts += [f'<img src="{e(p)}" alt="{e(p)}">' for p in plots]
    parts.append("</div>")
    if examples:
        parts.append('<h2>Examples</h2><table id="examples"><thead><tr><th>File</th><th>original</th>')
        parts += [f"<th>{e(s.name)}</th>" for s in summaries]
        parts.append("</tr></thead><tbody>")
        for item_id, original, decoded in examples:
            cells = [f"<td>{e(item_id)}</td>", f'<td><audio controls preload="none" src="{e(original)}"></audio></td>']
            for _, src in decoded:
                player = f'<audio controls preload="none" src="{e(src)}"></audio>' if src else "failed"
                cells.append(f"<td>{player}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _csv_text(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_reports(
    out_dir: str | Path,
    entries: Sequence[CodecEntry],
    items: Sequence[Item],
    summaries: Sequence[CodecSummary],
    per_file: Sequence[dict],
    metrics: Sequence[str],
    jobs: int = 1,
    n_examples: int = 3,
) -> dict[str, Path]:
    """Write every output under `out_dir`; returns their paths by kind."""
    out = Path(out_dir)
    paths = {k: out / n for k, n in [("markdown", "results.md"), ("csv", "results.csv"), ("per_file_csv",
             "per_file.csv"), ("json", "results.json"), ("html", "index.html")]}  # fmt: skip
    notes = _notes(summaries, metrics, jobs)
    write_text_atomic(paths["markdown"], markdown(summaries, metrics) + "\n" + "".join(f"- {n}\n" for n in notes))
    write_text_atomic(paths["csv"], _csv_text(*_summary_csv(summaries, metrics)))
    keys = list(per_file[0]) if per_file else ["codec", "file"]
    write_text_atomic(paths["per_file_csv"], _csv_text(keys, [[r[k] for k in keys] for r in per_file]))
    doc = _json_doc(summaries, per_file, metrics, notes)
    write_text_atomic(paths["json"], json.dumps(doc, indent=2, default=str) + "\n")
    plots = []
    for m in metrics:
        p = out / "plots" / f"{m}.png"
        _plot(summaries, m, p)
        plots.append(os.path.relpath(p, out))
        paths[f"plot_{m}"] = p
    examples = _write_examples(out, entries, list(items)[:n_examples])
    svg = quality_plot_svg(summaries, metrics)
    if svg:
        paths["quality_plot"] = out / "plots" / "quality_vs_bitrate.svg"
        write_text_atomic(paths["quality_plot"], svg)
    write_text_atomic(paths["html"], _html(summaries, metrics, plots, examples, notes, svg))
    return paths


def _summary_csv(summaries: Sequence[CodecSummary], metrics: Sequence[str]) -> tuple[list[str], list[list]]:
    """Header and rows of results.csv: the leaderboard's numbers unformatted, failures counted per metric."""
    fields = ["codec", "kind", "nominal_bps", "effective_bps", "effective_source", "disk_bps", "delay_ms"]
    fields += ["delay_source"]
    for m in metrics:
        fields += [m, f"{m}_failed"] + ([f"{m}_orig"] if METRICS[m].needs_text else [])
    fields += [k.replace(".", "_") for k in STABILITY_LABELS]
    fields += ["encode_rtf", "decode_rtf", "files", "failed_files"]
    rows = []
    for s in summaries:
        row = [s.name, s.kind, s.nominal_bps, s.effective_bps, s.effective_source, s.disk_bps, s.delay_ms]
        row.append(s.delay_source)
        for m in metrics:
            row += [s.metrics[m].mean, s.metrics[m].n_failed]
            if METRICS[m].needs_text:
                row.append(s.original[m].mean if m in s.original else None)
        row += [s.stability[k].mean if k in s.stability else None for k in STABILITY_LABELS]
        rows.append(row + [s.encode_rtf, s.decode_rtf, s.files, s.failed_files])
    return fields, rows


def _json_doc(
    summaries: Sequence[CodecSummary], per_file: Sequence[dict], metrics: Sequence[str], notes: Sequence[str]
) -> dict:
    """results.json: what each metric is, the notes, every codec's summary and every file's row."""
    return {
        "metrics": {
            m: {
                "label": METRICS[m].label,
                "higher_is_better": METRICS[m].higher_is_better,
                "computed_at": METRICS[m].rate_note,
            }
            for m in metrics
        },  # fmt: skip
        "notes": notes,
        "codecs": [asdict(s) for s in summaries],
        "files": list(per_file),
    }


def _write_examples(
    out: Path, entries: Sequence[CodecEntry], items: Sequence[Item]
) -> list[tuple[str, str, list[tuple[str, str | None]]]]:
    """Write each item's original as a mono wav for the page; (id, original, [(codec, decoded or None)]) per item."""
    from codeckit.audio import read_audio, write_audio

    examples = []
    for item in items:
        original = out / "audio" / "original" / f"{item.id}.wav"
        audio, sr = read_audio(item.path, channels="mono")
        write_audio(original, audio, sr)
        decoded = []
        for entry in entries:
            d = decoded_path(work_dir(out, entry), item)
            decoded.append((entry.name, os.path.relpath(d, out) if d.exists() else None))
        examples.append((item.id, os.path.relpath(original, out), decoded))
    return examples
