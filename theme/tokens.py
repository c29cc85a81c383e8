"""The palette and type of the dark neon theme (DESIGN.md §7)."""

CYAN = "#00ffff"
MAGENTA = "#ff00ff"
YELLOW = "#ffff00"
BLACK = "#000000"
SURFACE = "#1a1a1a"
TEXT = "#e8f7f7"
MUTED = "#9fb3b3"  # 7.9:1 on SURFACE, passes WCAG AA for body text
DANGER = "#ff4d6d"
SUCCESS = "#39ff88"

MONO = "'JetBrains Mono', 'Fira Code', 'DejaVu Sans Mono', ui-monospace, monospace"

PRIORITY_COLORS = {1: MUTED, 2: CYAN, 3: YELLOW, 4: MAGENTA, 5: DANGER}
