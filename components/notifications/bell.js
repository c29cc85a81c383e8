// The header bell: the unread count, and a panel of the latest notifications with "See all".
import { relativeTime } from "neon_time";

export default {
  template: `
<div class="bell">
  <button type="button" :class="['bell-button', { ringing: ringing }]" :aria-label="label" :title="label"
          aria-haspopup="dialog" :aria-expanded="open" @click="toggle">
    <span class="material-icons" aria-hidden="true">notifications</span>
    <span v-if="unread > 0" class="bell-badge" aria-hidden="true">{{ unread > 99 ? "99+" : unread }}</span>
  </button>
  <q-menu v-model="open" anchor="bottom right" self="top right" :offset="[0, 6]" class="bell-menu">
    <div class="bell-panel" role="dialog" aria-label="Latest notifications">
      <div class="bell-panel-head">
        <strong>Notifications</strong>
        <span class="muted">{{ unread }} unread</span>
      </div>
      <p v-if="!items.length" class="muted bell-empty">Nothing yet.</p>
      <button v-for="n in items" :key="n.id" type="button"
              :class="['bell-item', 'priority-' + n.priority, { unread: !n.read_at }]" @click="show(n)">
        <span class="bell-item-title">{{ n.title }}</span>
        <span class="bell-item-time">{{ ago(n.created_at) }}</span>
      </button>
      <button type="button" class="nbtn nbtn-outline bell-all" @click="show(null)">See all</button>
    </div>
  </q-menu>
</div>`,
  props: {
    items0: { type: Array, default: () => [] },
    unread0: { type: Number, default: 0 },
    inbox: { type: String, default: "/" },
    size: { type: Number, default: 8 },
  },
  data() {
    return { items: [...this.items0], unread: this.unread0, open: false, ringing: false, now: Date.now() };
  },
  computed: {
    label() {
      return this.unread ? `${this.unread} unread notification${this.unread === 1 ? "" : "s"}` : "No unread notifications";
    },
  },
  methods: {
    ago(iso) {
      return relativeTime(iso, this.now);
    },
    toggle() {
      this.now = Date.now();
      this.open = !this.open;
      this.ringing = false;
    },
    show(n) {
      this.open = false;
      const anchor = n ? "#notification-" + n.id : "#inbox";
      if (window.location.pathname === this.inbox) {
        window.dispatchEvent(new CustomEvent("show-panel", { detail: "inbox" }));
        setTimeout(() => {
          const target = document.querySelector(anchor) || document.querySelector("#inbox");
          if (target) { target.scrollIntoView({ behavior: "smooth", block: "start" }); target.focus?.(); }
        }, 50);
      } else {
        window.location.href = this.inbox + anchor;
      }
    },
    // Called by the server.
    add(n, countUnread) {
      if (this.items.some((m) => m.id === n.id)) return;
      if (countUnread && !n.read_at) this.unread += 1;
      this.items.unshift(n);
      if (this.items.length > this.size) this.items.pop();
      if (n.priority >= 5) this.ringing = true;
    },
    markRead(ids, all, when) {
      for (const n of this.items) if (all || ids.includes(n.id)) n.read_at = n.read_at || when;
    },
    acted(id, action, when) {
      const n = this.items.find((m) => m.id === id);
      if (n) n.read_at = n.read_at || when;
    },
    remove(ids) {
      this.items = this.items.filter((n) => !ids.includes(n.id));
    },
    setUnread(count) {
      this.unread = Math.max(0, count);
    },
  },
};
