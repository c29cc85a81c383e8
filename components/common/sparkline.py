"""A tiny inline-SVG sparkline of a metric's recent values: far cheaper than a chart per card, redrawn per push."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from html import escape

from theme.tokens import CYAN, MUTED

WIDTH, HEIGHT, PAD = 120.0, 32.0, 3.0
MAX_POINTS = 240


class Sparkline:
    """The (time, value) points of the last `window` seconds; `svg(now)` draws them with the line carried to now.

    The x axis runs from the oldest point shown (at most `window` ago) to now.
    """

    def __init__(self, window: float, max_points: int = MAX_POINTS) -> None:
        self.window = window
        self.points: deque[tuple[float, float]] = deque(maxlen=max_points)

    def seed(self, points: Iterable[tuple[float, float]]) -> None:
        for t, value in points:
            self.add(t, value)

    def add(self, t: float, value: float) -> None:
        """Keep a point when the value moved: a steady value is drawn by carrying the last point to `now`."""
        if self.points and (t < self.points[-1][0] or value == self.points[-1][1]):
            return
        self.points.append((t, value))

    def visible(self, now: float) -> list[tuple[float, float]]:
        """Points inside the window, led by the last one before it (it sets the line's left edge)."""
        start = now - self.window
        while len(self.points) > 1 and self.points[1][0] <= start:
            self.points.popleft()  # the one before the window start stays: it is the value at the left edge
        return [(max(t, start), v) for t, v in self.points if t <= now]

    def svg(self, now: float, label: str) -> str:
        """An SVG scaled to its box; `label` becomes the accessible name."""
        shown = self.visible(now)
        head = (f'<svg viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="100%" height="{HEIGHT:g}" '
                f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">')
        if not shown:
            middle = HEIGHT / 2
            return (f'{head}<line x1="0" y1="{middle:g}" x2="{WIDTH:g}" y2="{middle:g}" stroke="{MUTED}" '
                    f'stroke-dasharray="3 4" stroke-width="1" vector-effect="non-scaling-stroke"/></svg>')
        shown.append((now, shown[-1][1]))  # the latest value holds until now
        low = min(v for _, v in shown)
        high = max(v for _, v in shown)
        # Young data (a fresh server) spans what it has, not a sliver at the right edge of the window.
        start = shown[0][0]
        span = now - start
        if span < 1.0:
            shown = [(now - 1.0, shown[-1][1]), (now, shown[-1][1])]
            start, span = now - 1.0, 1.0
        coords = [(_x(t, start, span), _y(v, low, high)) for t, v in shown]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        area = f"{coords[0][0]:.1f},{HEIGHT:g} {line} {coords[-1][0]:.1f},{HEIGHT:g}"
        return (f'{head}<polygon points="{area}" fill="rgba(0,255,255,.12)" stroke="none"/>'
                f'<polyline points="{line}" fill="none" stroke="{CYAN}" stroke-width="1.5" '
                f'stroke-linejoin="round" vector-effect="non-scaling-stroke"/></svg>')


def _x(t: float, start: float, span: float) -> float:
    return min(WIDTH, max(0.0, (t - start) / span * WIDTH))


def _y(value: float, low: float, high: float) -> float:
    if high == low:
        return HEIGHT / 2
    return PAD + (1.0 - (value - low) / (high - low)) * (HEIGHT - 2 * PAD)
