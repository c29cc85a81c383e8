"""Global CSS of the dark neon theme."""

from theme.tokens import BLACK, CYAN, MAGENTA, MONO, MUTED, SURFACE, TEXT, YELLOW

CSS = f"""
:root {{ --neon-cyan: {CYAN}; --neon-magenta: {MAGENTA}; --neon-yellow: {YELLOW}; --surface: {SURFACE};
        --text: {TEXT}; --muted: {MUTED}; }}
body {{ background: radial-gradient(circle at 20% 0%, #06202a 0%, {BLACK} 55%) fixed; color: {TEXT}; }}
.neon-title {{ color: {CYAN}; text-shadow: 0 0 6px {CYAN}, 0 0 18px rgba(0,255,255,.45); letter-spacing: .06em; }}
.neon-card {{ background: linear-gradient(160deg, rgba(26,26,26,.96), rgba(10,10,10,.96));
             border: 1px solid rgba(0,255,255,.35); border-radius: 10px;
             box-shadow: 0 0 12px rgba(0,255,255,.12); transition: box-shadow .25s ease, border-color .25s ease; }}
.neon-card:hover {{ box-shadow: 0 0 18px rgba(0,255,255,.3); }}
.mono {{ font-family: {MONO}; }}
.muted {{ color: {MUTED}; }}
.event-row {{ border-left: 2px solid {MAGENTA}; padding-left: .6rem; animation: slide-in .35s ease; }}
@keyframes slide-in {{ from {{ opacity: 0; transform: translateY(-6px); }} to {{ opacity: 1; transform: none; }} }}
@keyframes pulse {{ 0%, 100% {{ box-shadow: 0 0 4px currentColor; }} 50% {{ box-shadow: 0 0 16px currentColor; }} }}
.pulse {{ animation: pulse 1.4s ease-in-out infinite; }}
:focus-visible {{ outline: 2px solid {YELLOW} !important; outline-offset: 2px; }}
.q-header {{ background: rgba(0,0,0,.85) !important; border-bottom: 1px solid rgba(0,255,255,.35);
            backdrop-filter: blur(6px); }}
"""
