"""Dark neon theme: palette, type scale, CSS, fonts, the page frame and the shared building blocks."""

from theme.elements import Heading, confirm, page_heading, section_heading, toast
from theme.frame import PageFrame, apply, frame, register_assets

__all__ = ["Heading", "PageFrame", "apply", "confirm", "frame", "page_heading", "register_assets",
           "section_heading", "toast"]
