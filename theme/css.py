"""Global CSS of the dark neon theme: fonts served by the app, glow, gradients, priorities, focus, phone width."""

from theme.tokens import BLACK, CYAN, DANGER, MAGENTA, MONO, MUTED, PRIORITY_COLORS, SUCCESS, SURFACE, TEXT, YELLOW

FONTS_URL = "/theme/fonts"

_PRIORITIES = "\n".join(
    f".priority-{level} {{ --priority: {color}; }}" for level, color in PRIORITY_COLORS.items()
)

CSS = f"""
@font-face {{ font-family: 'JetBrains Mono'; font-weight: 400; font-display: swap;
             src: url('{FONTS_URL}/jetbrains-mono-latin-400-normal.woff2') format('woff2'); }}
@font-face {{ font-family: 'JetBrains Mono'; font-weight: 700; font-display: swap;
             src: url('{FONTS_URL}/jetbrains-mono-latin-700-normal.woff2') format('woff2'); }}
:root {{ --neon-cyan: {CYAN}; --neon-magenta: {MAGENTA}; --neon-yellow: {YELLOW}; --surface: {SURFACE};
        --text: {TEXT}; --muted: {MUTED}; --danger: {DANGER}; --success: {SUCCESS}; --priority: {CYAN}; }}
{_PRIORITIES}
body {{ background: radial-gradient(circle at 15% 0%, #071f29 0%, {BLACK} 50%),
                    radial-gradient(circle at 100% 100%, #1d0620 0%, {BLACK} 45%) fixed;
       background-blend-mode: screen; color: {TEXT}; }}
.neon-title {{ color: {CYAN}; text-shadow: 0 0 6px {CYAN}, 0 0 18px rgba(0,255,255,.45); letter-spacing: .06em; }}
.neon-subtitle {{ color: {MAGENTA}; text-shadow: 0 0 6px rgba(255,0,255,.6); letter-spacing: .05em; }}
.neon-card {{ background: linear-gradient(160deg, rgba(26,26,26,.96), rgba(8,8,8,.96));
             border: 1px solid rgba(0,255,255,.35); border-radius: 10px; color: {TEXT};
             box-shadow: 0 0 12px rgba(0,255,255,.12); transition: box-shadow .25s ease, border-color .25s ease; }}
.neon-card:hover {{ box-shadow: 0 0 18px rgba(0,255,255,.3); }}
.mono, .q-table td.mono {{ font-family: {MONO}; font-variant-ligatures: none; }}
.muted {{ color: {MUTED}; }}
.event-row {{ border-left: 2px solid {MAGENTA}; padding-left: .6rem; animation: slide-in .35s ease; }}
.priority-bar {{ border-left: 3px solid var(--priority); box-shadow: -4px 0 10px -6px var(--priority); }}
.priority-chip {{ color: var(--priority); border: 1px solid var(--priority); border-radius: 999px;
                 padding: 0 .5rem; font-family: {MONO}; font-size: .75rem; }}
.priority-5 .priority-chip, .priority-5.priority-bar {{ animation: pulse 1.4s ease-in-out infinite; }}
@keyframes slide-in {{ from {{ opacity: 0; transform: translateY(-6px); }} to {{ opacity: 1; transform: none; }} }}
@keyframes pulse {{ 0%, 100% {{ box-shadow: 0 0 4px var(--priority); }}
                   50% {{ box-shadow: 0 0 18px var(--priority); }} }}
.pulse {{ animation: pulse 1.4s ease-in-out infinite; }}
.q-field__native::placeholder, .q-field__input::placeholder {{ color: {MUTED}; opacity: 1; }}
:focus-visible {{ outline: 2px solid {YELLOW} !important; outline-offset: 2px; }}
.q-header {{ background: rgba(0,0,0,.85) !important; border-bottom: 1px solid rgba(0,255,255,.35);
            backdrop-filter: blur(6px); }}
.conn-dot {{ width: .7rem; height: .7rem; border-radius: 50%; background: {SUCCESS};
            box-shadow: 0 0 8px {SUCCESS}; transition: background .3s ease, box-shadow .3s ease; }}
body.offline .conn-dot {{ background: {DANGER}; box-shadow: 0 0 8px {DANGER}; }}
.conn-label::after {{ content: 'live'; }}
body.offline .conn-label::after {{ content: 'offline'; }}
.trend-up {{ color: {SUCCESS}; }} .trend-down {{ color: {DANGER}; }} .trend-stable {{ color: {MUTED}; }}
@media (max-width: 640px) {{ .hide-narrow {{ display: none !important; }} .q-header {{ padding: .4rem !important; }} }}
"""

# NiceGUI shows its #popup while the socket is down; mirror that on <body> so the header dot turns red.
CONNECTION_JS = """
<script>
document.addEventListener('DOMContentLoaded', () => {
  const popup = document.getElementById('popup');
  if (!popup) return;
  const sync = () => document.body.classList.toggle('offline', popup.getAttribute('aria-hidden') === 'false');
  new MutationObserver(sync).observe(popup, {attributes: true, attributeFilter: ['aria-hidden']});
  sync();
});
</script>
"""
