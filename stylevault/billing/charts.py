"""Server-side SVG charts (no JavaScript: the CSP allows no inline script)."""

from __future__ import annotations

WIDTH, HEIGHT, PAD = 600, 160, 20


def daily_bars(daily: list[dict]) -> dict:
    """Bar geometry for a list of {"date", "credits"}: what the template draws as <rect>s."""
    top = max((d["credits"] for d in daily), default=0) or 1
    count = max(len(daily), 1)
    slot = (WIDTH - 2 * PAD) / count
    bars = []
    for i, day in enumerate(daily):
        height = round((HEIGHT - 2 * PAD) * day["credits"] / top, 1)
        bars.append(
            {
                "x": round(PAD + i * slot + slot * 0.1, 1),
                "y": round(HEIGHT - PAD - height, 1),
                "width": round(slot * 0.8, 1),
                "height": height,
                "date": day["date"],
                "credits": day["credits"],
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": HEIGHT - PAD,
        "right": WIDTH - PAD,
        "left": PAD,
        "top": top if any(d["credits"] for d in daily) else 0,
        "total": sum(d["credits"] for d in daily),
        "bars": bars,
    }
