"""Dark neon theme: palette, CSS, fonts and the page frame every page is drawn in."""

from theme.frame import PageFrame, apply, frame, register_assets

__all__ = ["PageFrame", "apply", "frame", "register_assets"]
