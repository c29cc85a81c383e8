// The dashboard's layout: the strip on top and the inbox beside the live feed on wide screens; on a phone, tabs
// (Inbox · Metrics · Events) with the unread count on the Inbox tab. Switching tabs never asks the server.
export default {
  template: `
<div class="dash" :data-tab="tab">
  <div class="dash-tabs" role="tablist" aria-label="Dashboard sections">
    <button v-for="t in tabs" :key="t.id" type="button" role="tab" :id="'tab-' + t.id" :aria-selected="tab === t.id"
            :aria-controls="'panel-' + t.id" :class="['dash-tab', { active: tab === t.id }]" @click="tab = t.id">
      {{ t.label }}<span v-if="t.id === 'inbox' && unread > 0" class="count-badge">{{ unread }}</span>
    </button>
  </div>
  <div id="panel-metrics" class="dash-strip" role="tabpanel" aria-labelledby="tab-metrics"><slot name="strip"></slot></div>
  <div class="dash-main">
    <div id="panel-inbox" class="dash-inbox" role="tabpanel" aria-labelledby="tab-inbox">
      <div id="inbox" tabindex="-1"><slot name="inbox"></slot></div>
    </div>
    <div id="panel-events" class="dash-feed" role="tabpanel" aria-labelledby="tab-events"><slot name="feed"></slot></div>
  </div>
</div>`,
  props: { unread0: { type: Number, default: 0 } },
  data() {
    return {
      tab: "inbox",
      unread: this.unread0,
      tabs: [{ id: "inbox", label: "Inbox" }, { id: "metrics", label: "Metrics" }, { id: "events", label: "Events" }],
    };
  },
  mounted() {
    if (typeof window.neonUnread === "number") this.unread = window.neonUnread;
    this.onUnread = (e) => (this.unread = e.detail);
    this.onShow = (e) => (this.tab = e.detail);
    window.addEventListener("unread-changed", this.onUnread);
    window.addEventListener("show-panel", this.onShow);
  },
  unmounted() {
    window.removeEventListener("unread-changed", this.onUnread);
    window.removeEventListener("show-panel", this.onShow);
  },
};
