"""The palette and type of the dark neon theme (DESIGN.md §7): one colour per meaning, one type scale."""

from __future__ import annotations

from dataclasses import dataclass

CYAN = "#00ffff"
MAGENTA = "#ff00ff"
YELLOW = "#ffff00"
BLACK = "#000000"
SURFACE = "#1a1a1a"
TEXT = "#e8f7f7"
MUTED = "#9fb3b3"  # 7.9:1 on SURFACE, passes WCAG AA for body text
DANGER = "#ff4d6d"
SUCCESS = "#39ff88"
INK = BLACK
"""Text on a bright fill (a cyan, magenta, yellow, green or red button or toast): white on them fails WCAG AA
(1.3:1 on SUCCESS, 3.2:1 on DANGER), black passes on every one (6.5:1 and up)."""

EMOJI = "'Neon Emoji', 'Noto Color Emoji', 'Apple Color Emoji', 'Segoe UI Emoji'"
"""The bundled subset (theme/fonts/emoji-subset.ttf) first: template titles render on machines without an emoji
font too."""
MONO = f"'JetBrains Mono', 'Fira Code', 'DejaVu Sans Mono', ui-monospace, {EMOJI}, monospace"

BODY = f"'Roboto', system-ui, -apple-system, 'Segoe UI', {EMOJI}, sans-serif"

LEVEL_COLORS = {"low": MUTED, "info": MUTED, "medium": CYAN, "warning": YELLOW, "high": MAGENTA, "error": MAGENTA,
                "critical": DANGER, "emergency": DANGER}
"""One colour per meaning, wherever the word appears: a priority, an alert severity, an alert level."""
PRIORITY_COLORS = {1: LEVEL_COLORS["low"], 2: LEVEL_COLORS["medium"], 3: LEVEL_COLORS["high"],
                   4: LEVEL_COLORS["critical"], 5: LEVEL_COLORS["emergency"]}
STATE_COLORS = {"firing": DANGER, "pending": YELLOW, "ok": SUCCESS}
"""An alert rule's state: firing is the loudest colour there is, waiting is a warning, ok is calm green."""


@dataclass(frozen=True, slots=True)
class TypeStyle:
    size: str
    line_height: str
    weight: int
    family: str


TYPE_SCALE = {
    "title": TypeStyle("1.5rem", "2rem", 700, BODY),  # the page's one h1
    "section": TypeStyle("1.125rem", "1.5rem", 600, BODY),  # card titles (h2), dialog titles
    "body": TypeStyle(".875rem", "1.35rem", 400, BODY),  # sentences, labels, table cells
    "caption": TypeStyle(".75rem", "1.1rem", 400, BODY),  # hints, units, "3 of 20" lines
    "technical": TypeStyle(".8125rem", "1.25rem", 400, MONO),  # ids, names, values, JSON, times
}
"""Five sizes for the whole UI, as CSS classes `.text-<name>` (theme/css.py): nothing else sets a font size."""


def luminance(color: str) -> float:
    """WCAG relative luminance of a `#rrggbb` colour."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours (1 to 21; AA body text needs 4.5)."""
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
