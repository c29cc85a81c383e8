"""Dark neon theme: palette, CSS and the page frame every page is drawn in."""

from theme.frame import apply, frame

__all__ = ["apply", "frame"]
