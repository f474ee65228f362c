"""Plot ``bench/results/robustness.json`` as two SVG files (no plotting library needed).

    .venv/bin/python bench/plot_robustness.py [robustness.json] [--out bench/results]

``fairness.svg``: each party's reward share against its clean-label count and against its
standalone accuracy (one dot per party and seed, the default pipeline and the old one).
``robustness.svg``: a heat map of the attackers' worst-seed reward share for the default
pipeline, attack x (split, fraction), with the cells that miss a target outlined.
Plain SVG written by hand: the project does not depend on matplotlib.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
COLOURS = {"new": "#1f77b4", "old": "#d62728"}


def _scatter(x0: float, title: str, xlabel: str, points: list[tuple[float, float, str]]) -> str:
    """One 300 x 240 panel at horizontal offset ``x0``: points (x, y, colour), axes from 0."""
    width, height, pad = 300.0, 240.0, 40.0
    xmax = max(p[0] for p in points) or 1.0
    ymax = max(p[1] for p in points) or 1.0
    out = [f'<text x="{x0 + width / 2}" y="16" text-anchor="middle">{title}</text>',
           f'<line x1="{x0 + pad}" y1="{height - pad}" x2="{x0 + width - 10}" '
           f'y2="{height - pad}" stroke="black"/>',
           f'<line x1="{x0 + pad}" y1="{height - pad}" x2="{x0 + pad}" y2="24" stroke="black"/>',
           f'<text x="{x0 + width / 2}" y="{height - 8}" text-anchor="middle">{xlabel}</text>',
           f'<text x="{x0 + 4}" y="30">{100 * ymax:.0f} %</text>',
           f'<text x="{x0 + width - 10}" y="{height - pad + 14}" text-anchor="end">'
           f'{xmax:.3g}</text>']
    for x, y, colour in points:
        cx = x0 + pad + (width - pad - 10) * x / xmax
        cy = height - pad - (height - pad - 24) * y / ymax
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}" '
                   'fill-opacity="0.7"/>')
    return "\n".join(out)


def fairness_svg(fair: Sequence[dict[str, Any]]) -> str:
    """Reward share vs clean-label count and vs standalone accuracy, both pipelines."""
    by_labels = [(c, r, COLOURS[f["pipeline"]]) for f in fair
                 for c, r in zip(f["clean_labels"], f["reward_share"], strict=True)]
    by_alone = [(a, r, COLOURS[f["pipeline"]]) for f in fair
                for a, r in zip(f["standalone_accuracy"], f["reward_share"], strict=True)]
    legend = " ".join(f'<tspan fill="{c}">● {p}</tspan>' for p, c in COLOURS.items())
    body = "\n".join([
        _scatter(0, "reward share vs clean labels", "clean-label count", by_labels),
        _scatter(320, "reward share vs standalone accuracy", "standalone accuracy", by_alone),
        f'<text x="320" y="250" text-anchor="middle">{legend}</text>'])
    return _svg(640, 260, body)


def robustness_svg(summary: Sequence[dict[str, Any]]) -> str:
    """Heat map of the default pipeline's worst-seed attacker share; misses outlined."""
    cells = [s for s in summary if s["pipeline"] == "new" and s["attack"] != "clean"]
    attacks = list(dict.fromkeys(s["attack"] for s in cells))
    columns = list(dict.fromkeys((s["split"], s["fraction"]) for s in cells))
    by = {(s["attack"], s["split"], s["fraction"]): s for s in cells}
    left, top, w, h = 90, 40, 56, 18
    out = ['<text x="10" y="16">default pipeline: attackers\' worst-seed reward share '
           '(white 0 %, dark red 50 %+; outlined: a target missed)</text>']
    for j, (split, fraction) in enumerate(columns):
        out.append(f'<text x="{left + j * w + w / 2}" y="{top - 6}" text-anchor="middle" '
                   f'font-size="10">{split} {fraction}%</text>')
    for i, attack in enumerate(attacks):
        out.append(f'<text x="{left - 4}" y="{top + i * h + 13}" text-anchor="end" '
                   f'font-size="11">{attack}</text>')
        for j, (split, fraction) in enumerate(columns):
            s = by.get((attack, split, fraction))
            if s is None:
                continue
            level = min(1.0, s["worst_malicious_share"] / 0.5)
            shade = int(255 * (1 - level))
            stroke = ' stroke="black" stroke-width="2"' if s["misses"] else ""
            out.append(f'<rect x="{left + j * w}" y="{top + i * h}" width="{w - 2}" '
                       f'height="{h - 2}" fill="rgb(255,{shade},{shade})"{stroke}/>')
            out.append(f'<text x="{left + j * w + w / 2}" y="{top + i * h + 13}" '
                       f'text-anchor="middle" font-size="10">'
                       f'{100 * s["worst_malicious_share"]:.1f}</text>')
    return _svg(left + w * len(columns) + 10, top + h * len(attacks) + 10, "\n".join(out))


def _svg(width: float, height: float, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``fairness.svg`` and ``robustness.svg`` next to the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS / "robustness.json")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = json.loads(args.results.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    if report.get("fairness"):
        (args.out / "fairness.svg").write_text(fairness_svg(report["fairness"]))
    (args.out / "robustness.svg").write_text(robustness_svg(report["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
