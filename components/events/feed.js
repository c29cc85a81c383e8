// The live event feed, drawn in the browser: the server sends each event once per view, as a label and a
// sentence; times, pausing and channel filters happen here.
import { relativeTime } from "neon_time";

export default {
  template: `
<section class="feed" aria-labelledby="feed-heading">
  <div class="feed-head">
    <h2 id="feed-heading" class="panel-title">Live events</h2>
    <button type="button" class="nbtn nbtn-outline feed-pause" :aria-pressed="paused" @click="togglePause">
      <span class="material-icons" aria-hidden="true">{{ paused ? "play_arrow" : "pause" }}</span>
      {{ paused ? (queued.length ? "Resume (" + queued.length + " new)" : "Resume") : "Pause" }}
    </button>
  </div>
  <div class="feed-filters" role="group" aria-label="Channels shown">
    <button v-for="c in channels" :key="c" type="button" :class="['chip-toggle', { off: hidden.includes(c) }]"
            :aria-pressed="!hidden.includes(c)" @click="flip(c)">{{ c }}</button>
  </div>
  <p v-if="!visible.length" class="muted">{{ list.length ? "No events in the channels shown." : "No events yet." }}</p>
  <ol class="feed-list" aria-live="off">
    <li v-for="e in visible" :key="e.id" :id="'event-' + e.id" class="event-row">
      <div class="event-line">
        <span class="event-label">{{ e.label }}</span>
        <span class="event-source">{{ e.source }}</span>
        <time class="event-time" :datetime="e.timestamp" :title="e.timestamp">{{ ago(e.timestamp) }}</time>
      </div>
      <p class="event-text">{{ e.text }}</p>
      <details v-if="admin && e.data" class="event-data"><summary>data</summary>
        <pre class="json-view">{{ JSON.stringify(e.data, null, 2) }}</pre></details>
    </li>
  </ol>
</section>`,
  props: {
    events0: { type: Array, default: () => [] },
    channels: { type: Array, default: () => [] },
    admin: { type: Boolean, default: false },
    size: { type: Number, default: 50 },
  },
  data() {
    return { list: [...this.events0], queued: [], paused: false, hidden: [], now: Date.now() };
  },
  computed: {
    visible() {
      return this.hidden.length ? this.list.filter((e) => !this.hidden.includes(e.channel)) : this.list;
    },
  },
  mounted() {
    this.timer = setInterval(() => (this.now = Date.now()), 20000);
  },
  unmounted() {
    clearInterval(this.timer);
  },
  methods: {
    ago(iso) {
      return relativeTime(iso, this.now);
    },
    flip(channel) {
      this.hidden = this.hidden.includes(channel) ? this.hidden.filter((c) => c !== channel) : [...this.hidden, channel];
    },
    togglePause() {
      this.paused = !this.paused;
      if (!this.paused) {
        for (const e of this.queued) this.push(e);
        this.queued = [];
      }
    },
    push(e) {
      if (this.list.some((m) => m.id === e.id)) return;
      this.list.unshift(e);
      if (this.list.length > this.size) this.list.pop();
      this.now = Date.now();
    },
    // Called by the server.
    add(e) {
      if (this.paused) {
        this.queued.push(e);
        if (this.queued.length > this.size) this.queued.shift();
      } else this.push(e);
    },
    addMany(events) {
      for (const e of events) this.add(e);
    },
  },
};
