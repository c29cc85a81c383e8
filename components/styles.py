"""The stylesheet of the browser-drawn widgets, served as a cacheable file and linked from every page."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nicegui import app as nicegui_app
from nicegui import ui

STYLESHEET = Path(__file__).parent / "styles.css"
URL = "/components/styles.css"


def register() -> None:
    """Serve the stylesheet and link it from every page (call once per start, before pages are drawn)."""
    version = hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:12]  # a new file is a new URL: no stale cache
    nicegui_app.add_static_file(local_file=STYLESHEET, url_path=URL, max_cache_age=31_536_000)
    ui.add_head_html(f'<link rel="stylesheet" href="{URL}?v={version}">', shared=True)
