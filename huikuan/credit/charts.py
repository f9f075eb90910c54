"""Server-rendered SVG of a customer's score history (no JavaScript, no external assets)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import mark_safe

W, H, PAD = 480, 140, 24


def _y(score: int) -> str:
    return f"{H - PAD - (H - 2 * PAD) * score / 100:.1f}"


def score_chart(snapshots) -> str:
    """An SVG line chart of score (0–100) by snapshot date, oldest first; date, score and grade on hover."""
    if not snapshots:
        return ""
    step = (W - 2 * PAD) / max(len(snapshots) - 1, 1)
    pts = [(f"{PAD + i * step:.1f}", _y(s.score)) for i, s in enumerate(snapshots)]
    parts = [f'<svg class="score-chart" role="img" viewBox="0 0 {W} {H}" width="100%" height="{H}">']
    for v in (0, 50, 100):
        parts.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{_y(v)}" y2="{_y(v)}" stroke="#e3e6eb"/>'
                     f'<text x="2" y="{float(_y(v)) + 3:.1f}" font-size="9" fill="#888">{v}</text>')
    parts.append('<polyline fill="none" stroke="#4c8bf5" stroke-width="2" points="'
                 + " ".join(f"{x},{y}" for x, y in pts) + '"/>')
    for (x, y), s in zip(pts, snapshots, strict=True):
        parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="#4c8bf5"><title>{s.as_of.isoformat()} · {int(s.score)} · '
                     f'{escape(s.grade)}</title></circle>')
    parts.append(f'<text x="{PAD}" y="{H - 6}" font-size="9" fill="#666">{snapshots[0].as_of.isoformat()}</text>'
                 f'<text x="{W - PAD}" y="{H - 6}" font-size="9" fill="#666" text-anchor="end">'
                 f'{snapshots[-1].as_of.isoformat()}</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - numbers and dates only; the grade is escaped
