"""Global CSS of the dark neon theme: fonts served by the app, glow, gradients, priorities, the type scale, Quasar's
controls (buttons, toasts, dialogs, fields, tabs) in the palette, a focus ring that always shows, phone width.

The rules sit in NiceGUI's `overrides` cascade layer: it comes after Quasar's, Tailwind's and NiceGUI's layers, so
plain rules beat theirs, and it comes before `quasar_importants`, so our `!important` rules beat Quasar's (its
`.no-outline { outline: 0 !important }` would otherwise hide every focus ring, and its `.text-white` would keep
white text on bright fills). The browser-drawn widgets' stylesheet (components/styles.css) is unlayered and wins
over these rules for its own classes."""

from theme.tokens import (
    BLACK,
    BODY,
    CYAN,
    DANGER,
    INK,
    MAGENTA,
    MONO,
    MUTED,
    PRIORITY_COLORS,
    SUCCESS,
    SURFACE,
    TEXT,
    TYPE_SCALE,
    YELLOW,
)

FONTS_URL = "/theme/fonts"
FILLS = ("primary", "secondary", "accent", "positive", "negative", "warning")
"""Quasar colour names with a bright fill in this palette: any text on them is INK."""

_PRIORITIES = "\n".join(
    f".priority-{level} {{ --priority: {color}; }}" for level, color in PRIORITY_COLORS.items()
)
_TYPE = "\n".join(  # regular weights are left to the element, so `font-semibold` can still bold a body line
    f".text-{name} {{ font-family: {style.family}; font-size: {style.size}; line-height: {style.line_height}; "
    + (f"font-weight: {style.weight}; " if style.weight != 400 else "")
    + "letter-spacing: normal; margin: 0; }"
    for name, style in TYPE_SCALE.items()
)
_ON_FILL = ",\n".join(f".q-btn.bg-{c}, .q-notification.bg-{c}, .q-chip.bg-{c}, .q-badge.bg-{c}" for c in FILLS)

FONT_FACES = f"""
@font-face {{ font-family: 'JetBrains Mono'; font-weight: 400; font-display: swap;
             src: url('{FONTS_URL}/jetbrains-mono-latin-400-normal.woff2') format('woff2'); }}
@font-face {{ font-family: 'JetBrains Mono'; font-weight: 700; font-display: swap;
             src: url('{FONTS_URL}/jetbrains-mono-latin-700-normal.woff2') format('woff2'); }}
@font-face {{ font-family: 'Neon Emoji'; font-display: swap;
             src: url('{FONTS_URL}/emoji-subset.ttf') format('truetype');
             unicode-range: U+2139, U+26A0, U+2705, U+2728, U+274C, U+FE0F, U+200D, U+1F310, U+1F389, U+1F3D8,
                            U+1F3E0, U+1F464, U+1F4B0, U+1F514, U+1F517, U+1F6A8; }}
:root {{ --neon-cyan: {CYAN}; --neon-magenta: {MAGENTA}; --neon-yellow: {YELLOW}; --surface: {SURFACE};
        --text: {TEXT}; --muted: {MUTED}; --danger: {DANGER}; --success: {SUCCESS}; --priority: {CYAN};
        --neon-magenta-text: {MAGENTA}; --font-mono: {MONO}; --font-body: {BODY}; }}
"""

BASE = f"""
body, .q-body, .q-btn, .q-field {{ font-family: {BODY}; }}
{_PRIORITIES}
body {{ background: radial-gradient(circle at 15% 0%, #071f29 0%, {BLACK} 50%),
                    radial-gradient(circle at 100% 100%, #1d0620 0%, {BLACK} 45%) fixed;
       background-blend-mode: screen; color: {TEXT}; }}
{_TYPE}
.neon-title {{ color: {CYAN}; text-shadow: 0 0 6px {CYAN}, 0 0 18px rgba(0,255,255,.45); letter-spacing: .06em; }}
.neon-subtitle {{ color: {MAGENTA}; text-shadow: 0 0 6px rgba(255,0,255,.6); letter-spacing: .05em; }}
.neon-card {{ background: linear-gradient(160deg, rgba(26,26,26,.96), rgba(8,8,8,.96));
             border: 1px solid rgba(0,255,255,.35); border-radius: 10px; color: {TEXT}; min-width: 0;
             box-shadow: 0 0 12px rgba(0,255,255,.12); transition: box-shadow .25s ease, border-color .25s ease; }}
.neon-card:hover {{ box-shadow: 0 0 18px rgba(0,255,255,.3); }}
.mono, .q-table td.mono {{ font-family: {MONO}; font-variant-ligatures: none; }}
.muted {{ color: {MUTED}; }}
.danger-text {{ color: {DANGER}; }}
.wrap-anywhere {{ overflow-wrap: anywhere; word-break: normal; min-width: 0; }}
.json-block {{ white-space: pre-wrap; overflow-wrap: anywhere; max-height: 22rem; overflow: auto; color: {TEXT};
               background: #050505; border: 1px solid rgba(0,255,255,.2); border-radius: 6px; padding: .5rem; }}
.list-row {{ border-bottom: 1px solid rgba(0,255,255,.15); padding: .5rem 0; }}
.list-row:last-child {{ border-bottom: 0; }}
.event-row {{ border-left: 2px solid {MAGENTA}; padding-left: .6rem; animation: slide-in .35s ease; min-width: 0; }}
.priority-bar {{ border-left: 3px solid var(--priority); box-shadow: -4px 0 10px -6px var(--priority); }}
.priority-chip {{ color: var(--priority); border: 1px solid var(--priority); border-radius: 999px;
                 padding: 0 .5rem; font-family: {MONO}; font-size: .75rem; white-space: nowrap; }}
.priority-5 .priority-chip, .priority-5.priority-bar {{ animation: pulse 1.4s ease-in-out infinite; }}
@keyframes slide-in {{ from {{ opacity: 0; transform: translateY(-6px); }} to {{ opacity: 1; transform: none; }} }}
@keyframes pulse {{ 0%, 100% {{ box-shadow: 0 0 4px var(--priority); }}
                   50% {{ box-shadow: 0 0 18px var(--priority); }} }}
.pulse {{ animation: pulse 1.4s ease-in-out infinite; }}
.q-header {{ background: rgba(0,0,0,.85) !important; border-bottom: 1px solid rgba(0,255,255,.35);
            backdrop-filter: blur(6px); }}
.conn-dot {{ width: .7rem; height: .7rem; border-radius: 50%; background: {SUCCESS};
            box-shadow: 0 0 8px {SUCCESS}; transition: background .3s ease, box-shadow .3s ease; }}
body.offline .conn-dot {{ background: {DANGER}; box-shadow: 0 0 8px {DANGER}; }}
.conn-label::after {{ content: 'live'; }}
body.offline .conn-label::after {{ content: 'offline'; }}
.nicegui-link, .neon-link {{ color: {CYAN}; text-decoration: underline; text-underline-offset: 3px; }}
.nicegui-link:hover, .neon-link:hover {{ text-shadow: 0 0 8px rgba(0,255,255,.6); }}
.nav-link {{ color: {TEXT}; text-decoration: none; padding: .25rem .5rem; border-radius: 6px;
             border-bottom: 2px solid transparent; }}
.nav-link:hover {{ color: {CYAN}; background: rgba(0,255,255,.08); }}
.nav-current {{ color: {CYAN}; border-bottom-color: {CYAN}; }}
.trend-up {{ color: {SUCCESS}; }} .trend-down {{ color: {DANGER}; }} .trend-stable {{ color: {MUTED}; }}
@media (max-width: 640px) {{ .hide-narrow {{ display: none !important; }} .q-header {{ padding: .4rem !important; }} }}
"""

CONTROLS = f"""
/* Buttons and tabs: one case everywhere; text on a bright fill is black (AA on every fill of the palette). */
.q-btn, .q-tab {{ text-transform: none; letter-spacing: normal; }}
.q-btn {{ font-weight: 600; }}
{_ON_FILL} {{ color: {INK} !important; }}
.q-btn.bg-primary {{ box-shadow: 0 0 10px rgba(0,255,255,.35); }}
.q-btn.bg-negative {{ box-shadow: 0 0 10px rgba(255,77,109,.35); }}
.q-btn.disabled, .q-btn[disabled] {{ opacity: .55 !important; }}
.q-tab--active {{ color: {CYAN}; }}
.q-tab__indicator {{ box-shadow: 0 0 8px {CYAN}; }}

/* Toasts: bottom right (theme/elements.py toast), bright fills with black text, quiet ones on the surface. */
.q-notification {{ font-family: {BODY}; border-radius: 8px; max-width: min(26rem, calc(100vw - 24px));
                   overflow-wrap: anywhere; }}
.q-notification.bg-positive {{ box-shadow: 0 0 14px rgba(57,255,136,.5); }}
.q-notification.bg-negative {{ box-shadow: 0 0 14px rgba(255,77,109,.5); }}
.q-notification.bg-warning {{ box-shadow: 0 0 14px rgba(255,255,0,.45); }}
.q-notification.bg-info, .q-notification.bg-grey-8, .q-notification.bg-dark, .neon-toast {{
  background: {SURFACE} !important; color: {TEXT} !important; border: 1px solid rgba(0,255,255,.6);
  box-shadow: 0 0 14px rgba(0,255,255,.3); }}
.q-notification .q-btn.text-primary {{ color: {CYAN} !important; }}
.q-notification.bg-positive .q-btn, .q-notification.bg-negative .q-btn,
.q-notification.bg-warning .q-btn {{ color: {INK} !important; }}

/* Dialogs, menus, tooltips */
.q-dialog__backdrop {{ background: rgba(0,0,0,.72); }}
.q-dialog .q-card {{ background: linear-gradient(160deg, {SURFACE}, #080808); color: {TEXT};
                    border: 1px solid rgba(0,255,255,.45); box-shadow: 0 0 24px rgba(0,255,255,.22);
                    max-width: calc(100vw - 32px); overflow-wrap: anywhere; }}
.q-menu {{ background: {SURFACE}; color: {TEXT}; border: 1px solid rgba(0,255,255,.35); }}
.q-tooltip {{ background: #050505; color: {TEXT}; border: 1px solid rgba(0,255,255,.5); font-size: .8125rem;
             max-width: min(32rem, 90vw); overflow-wrap: anywhere; }}

/* Fields: cyan outline, readable labels, and an error message that takes the room it needs (Quasar lays it
   absolutely in a one-line gap, so a long one ran into the next field). */
.q-field--outlined .q-field__control:before {{ border-color: rgba(0,255,255,.45); }}
.q-field--outlined:hover .q-field__control:before {{ border-color: {CYAN}; }}
.q-field--dark .q-field__label, .q-field--dark .q-field__bottom {{ color: {MUTED}; }}
.q-field--dark.q-field--error .q-field__bottom, .q-field--error .q-field__label {{ color: {DANGER}; }}
.q-field--dark .q-field__native, .q-field--dark .q-field__input {{ color: {TEXT}; }}
.q-field__native::placeholder, .q-field__input::placeholder {{ color: {MUTED}; opacity: 1; }}
.q-field--with-bottom {{ padding-bottom: 0 !important; }}
.q-field__bottom--animated {{ position: static !important; transform: none !important; }}
.q-field__bottom {{ line-height: 1.25; overflow-wrap: anywhere; }}
.q-field__native, .q-field__input {{ min-width: 0; }}
.q-table__container {{ max-width: 100%; min-width: 0; }}
.q-table th {{ color: {MUTED}; font-size: .75rem; }}

/* Keyboard focus always shows: a yellow ring on the control, around the whole field for text fields. */
:focus-visible {{ outline: 2px solid {YELLOW} !important; outline-offset: 2px !important; }}
.q-tab:focus-visible, .q-item:focus-visible, .q-btn-group > .q-btn:focus-visible {{
  outline-offset: -3px !important; }}
.q-field__native:focus-visible, .q-field__input:focus-visible, .q-field__native:focus, .q-field__input:focus {{
  outline: none !important; }}
.q-field--focused .q-field__control {{ box-shadow: 0 0 0 2px {YELLOW}, 0 0 12px rgba(255,255,0,.35);
                                       border-radius: 4px; }}
"""

CSS = FONT_FACES + "@layer overrides {\n" + BASE + CONTROLS + "}\n"

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

LANGUAGE_JS = "<script>document.documentElement.lang = document.documentElement.lang || 'en';</script>"
"""Pages drawn without `@ui.page(language=...)` would have `<html>` without a language (screen readers guess)."""
