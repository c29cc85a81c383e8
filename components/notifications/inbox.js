// The inbox, drawn in the browser from notification data: the server sends each notification once per view and
// keeps no element per card. Times, grouping by day and the dismiss-undo window are computed here.
import { relativeTime, dayLabel } from "neon_time";

const UNDO_MS = 5000;
const PRIORITY = { 1: "low", 2: "medium", 3: "high", 4: "critical", 5: "emergency" };

export default {
  template: `
<section class="inbox" aria-labelledby="inbox-heading">
  <div class="inbox-head">
    <h2 id="inbox-heading" class="panel-title">Notifications</h2>
    <span v-if="unread > 0" class="count-badge" :aria-label="unread + ' unread'">{{ unread }}</span>
    <button type="button" class="nbtn nbtn-flat inbox-readall" :disabled="unread === 0" @click="$emit('read_all')">
      Mark all read</button>
  </div>
  <form class="inbox-filters" role="search" @submit.prevent="applyFilters">
    <label class="sr-only" :for="uid + '-q'">Search notifications</label>
    <input :id="uid + '-q'" v-model="filters.q" type="search" class="ninput" maxlength="200"
           placeholder="Search title or message" enterkeyhint="search">
    <label class="sr-only" :for="uid + '-type'">Type</label>
    <select :id="uid + '-type'" v-model="filters.type" class="ninput" @change="applyFilters">
      <option value="">All types</option>
      <option v-for="t in types" :key="t[0]" :value="t[0]">{{ t[1] }}</option>
    </select>
    <label class="sr-only" :for="uid + '-priority'">Priority</label>
    <select :id="uid + '-priority'" v-model.number="filters.priority" class="ninput" @change="applyFilters">
      <option :value="0">Any priority</option>
      <option v-for="p in [2, 3, 4, 5]" :key="p" :value="p">{{ priorityName(p) }} and above</option>
    </select>
    <label class="inbox-unread"><input type="checkbox" v-model="filters.unreadOnly" @change="applyFilters">
      Unread only</label>
    <button type="submit" class="nbtn nbtn-outline">Search</button>
  </form>
  <p v-if="!list.length" class="muted inbox-empty">{{ emptyText }}</p>
  <template v-for="group in groups" :key="group.label">
    <h3 class="inbox-day">{{ group.label }}</h3>
    <article v-for="n in group.items" :key="n.id" :id="'notification-' + n.id"
             :class="['ncard', 'priority-bar', 'priority-' + n.priority, { unread: !n.read_at }]"
             :aria-label="priorityName(n.priority) + ' priority notification' + (n.read_at ? '' : ', unread')">
      <div class="ncard-head">
        <span v-if="!n.read_at" class="unread-dot" aria-hidden="true"></span>
        <h4 class="ncard-title">{{ n.title }}</h4>
        <span class="priority-chip">{{ priorityName(n.priority) }}</span>
        <time class="ncard-time" :datetime="n.created_at" :title="n.created_at">{{ ago(n.created_at) }}</time>
      </div>
      <p :class="['ncard-message', { clamped: long(n) && !open[n.id] }]">{{ n.message }}</p>
      <button v-if="long(n)" type="button" class="nbtn nbtn-link" :aria-expanded="!!open[n.id]"
              @click="open[n.id] = !open[n.id]">{{ open[n.id] ? "Show less" : "Show all" }}</button>
      <template v-if="n.digest">
        <button type="button" class="nbtn nbtn-link digest-toggle" :aria-expanded="!!open['d' + n.id]"
                @click="open['d' + n.id] = !open['d' + n.id]">
          {{ open['d' + n.id] ? "Hide items" : "Show " + n.digest.count + " items" }}</button>
        <ol v-if="open['d' + n.id]" class="digest-items">
          <li v-for="item in n.digest.items" :key="item.id">
            <span class="digest-item-title">{{ item.title }}</span>
            <span class="digest-item-message">{{ item.message }}</span>
            <time class="ncard-time" :datetime="item.created_at" :title="item.created_at">{{ ago(item.created_at) }}</time>
          </li>
        </ol>
      </template>
      <div class="ncard-actions">
        <template v-for="a in n.actions || []" :key="a.action">
          <span v-if="n.action_taken === a.action" class="taken-chip">✓ {{ a.label }}</span>
          <button v-else type="button" class="nbtn nbtn-outline" :disabled="!!n.action_taken || busy[n.id]"
                  @click="act(n, a)">{{ a.label }}</button>
        </template>
        <button v-if="!n.read_at" type="button" class="nbtn nbtn-flat" @click="$emit('read', {id: n.id})">
          Mark read</button>
        <button type="button" class="nbtn nbtn-flat" @click="$emit('detail', {id: n.id})">Details</button>
        <button type="button" class="nbtn nbtn-flat nbtn-secondary" @click="dismiss(n)">Dismiss</button>
        <span v-if="n.expires_at" class="ncard-expiry">expires {{ ahead(n.expires_at) }}</span>
      </div>
    </article>
  </template>
  <button v-if="more" type="button" class="nbtn nbtn-outline inbox-more" :disabled="loadingMore" @click="loadMore">
    {{ loadingMore ? "Loading…" : "Load older notifications" }}</button>
  <q-dialog v-model="detailOpen">
    <div v-if="detail" class="neon-card detail-card" role="dialog" aria-labelledby="detail-title">
      <h3 id="detail-title" class="ncard-title">{{ detail.title }}</h3>
      <p class="ncard-message">{{ detail.message }}</p>
      <dl class="detail-list">
        <dt>Type</dt><dd>{{ detail.type }}</dd>
        <dt>Priority</dt><dd>{{ priorityName(detail.priority) }}</dd>
        <dt>Sent</dt><dd>{{ detail.created_at }}</dd>
        <dt v-if="detail.action_taken">Answered</dt><dd v-if="detail.action_taken">{{ detail.action_taken }}</dd>
      </dl>
      <pre class="json-view">{{ JSON.stringify(detail.data, null, 2) }}</pre>
      <button type="button" class="nbtn nbtn-outline" @click="detailOpen = false">Close</button>
    </div>
  </q-dialog>
</section>`,
  props: {
    items: { type: Array, default: () => [] },
    unreadCount: { type: Number, default: 0 },
    hasMore: { type: Boolean, default: false },
    types: { type: Array, default: () => [] },
    size: { type: Number, default: 200 },
  },
  data() {
    return {
      list: [...this.items],
      unread: this.unreadCount,
      more: this.hasMore,
      loadingMore: false,
      filters: { q: "", type: "", priority: 0, unreadOnly: false },
      now: Date.now(),
      open: {},
      busy: {},
      detail: null,
      detailOpen: false,
      uid: "inbox-" + Math.random().toString(36).slice(2, 8),
    };
  },
  computed: {
    groups() {
      const groups = [];
      for (const n of this.list) {
        const label = dayLabel(n.created_at, this.now);
        if (!groups.length || groups[groups.length - 1].label !== label) groups.push({ label, items: [] });
        groups[groups.length - 1].items.push(n);
      }
      return groups;
    },
    filtered() {
      const f = this.filters;
      return !!(f.q || f.type || f.priority || f.unreadOnly);
    },
    emptyText() {
      return this.filtered ? "No notifications match these filters." : "No notifications.";
    },
  },
  watch: {
    unread: { immediate: true, handler(count) {
      window.neonUnread = count;  // for a layout mounted after this inbox (parents mount after their children)
      window.dispatchEvent(new CustomEvent("unread-changed", { detail: count }));
    } },
  },
  mounted() {
    this.timer = setInterval(() => (this.now = Date.now()), 30000);
  },
  unmounted() {
    clearInterval(this.timer);
  },
  methods: {
    priorityName(p) {
      return PRIORITY[p] || "medium";
    },
    ago(iso) {
      return relativeTime(iso, this.now);
    },
    ahead(iso) {
      return relativeTime(iso, this.now);
    },
    long(n) {
      return (n.message || "").length > 280;
    },
    matches(n) {
      const f = this.filters;
      if (f.unreadOnly && n.read_at) return false;
      if (f.type && n.type !== f.type) return false;
      if (f.priority && n.priority < f.priority) return false;
      if (f.q) {
        const q = f.q.toLowerCase();
        if (!(n.title || "").toLowerCase().includes(q) && !(n.message || "").toLowerCase().includes(q)) return false;
      }
      return true;
    },
    applyFilters() {
      this.$emit("filter", { ...this.filters });
    },
    loadMore() {
      if (!this.list.length) return;
      this.loadingMore = true;
      this.$emit("more", { before: this.list[this.list.length - 1].id });
    },
    act(n, a) {
      this.busy[n.id] = true;
      this.$emit("action", { id: n.id, action: a.action });
    },
    dismiss(n) {
      // Gone at once here; the server hears of it only if nobody pressed Undo within five seconds.
      const index = this.list.findIndex((m) => m.id === n.id);
      if (index < 0) return;
      this.list.splice(index, 1);
      // The toast's own timer is not relied on: the dismiss reaches the server when ours runs out.
      const timer = setTimeout(() => this.$emit("dismiss", { id: n.id }), UNDO_MS);
      this.$q.notify({
        message: "Notification dismissed", timeout: UNDO_MS, classes: "neon-toast", group: false,
        position: "bottom-right",
        actions: [{ label: "Undo", color: "primary", handler: () => {
          clearTimeout(timer);
          this.insert(n);
        } }],
      });
    },
    insert(n) {
      if (this.list.some((m) => m.id === n.id)) return;
      const at = this.list.findIndex((m) => m.id < n.id);
      if (at < 0) this.list.push(n); else this.list.splice(at, 0, n);
    },
    // Called by the server.
    add(n, countUnread) {
      if (this.list.some((m) => m.id === n.id)) return;
      if (countUnread && !n.read_at) this.unread += 1;
      if (!this.matches(n)) return;
      this.insert(n);
      if (this.list.length > this.size) this.list.pop();
    },
    replace(items, hasMore) {
      this.list = [...items];
      this.more = hasMore;
      this.loadingMore = false;
    },
    append(items, hasMore) {
      for (const n of items) if (!this.list.some((m) => m.id === n.id)) this.list.push(n);
      this.more = hasMore;
      this.loadingMore = false;
    },
    markRead(ids, all, when) {
      for (const n of this.list) if (all || ids.includes(n.id)) n.read_at = n.read_at || when;
      if (this.filters.unreadOnly) this.list = this.list.filter((n) => !n.read_at);
    },
    acted(id, action, when) {
      const n = this.list.find((m) => m.id === id);
      if (n) { n.action_taken = action; n.read_at = n.read_at || when; }
      delete this.busy[id];
    },
    settle(id) {
      delete this.busy[id];
    },
    remove(ids) {
      this.list = this.list.filter((n) => !ids.includes(n.id));
    },
    setUnread(count) {
      this.unread = Math.max(0, count);
    },
    showDetail(n) {
      this.detail = n;
      this.detailOpen = true;
    },
  },
};
