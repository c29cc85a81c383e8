// The system at a glance: health and the key metrics with their sparklines, drawn in the browser from one small
// list the server computes once per push for every view.
export default {
  template: `
<section class="strip" aria-labelledby="strip-heading">
  <h2 id="strip-heading" class="sr-only">System at a glance</h2>
  <div :class="['health', 'health-' + health.status]" role="status" aria-live="polite" id="system-health-box">
    <span class="material-icons health-icon" aria-hidden="true">{{ icon }}</span>
    <div>
      <div class="health-caption">System health</div>
      <div class="health-status" id="system-health">{{ health.status }}</div>
      <div class="health-alerts">{{ health.alerts }}</div>
    </div>
  </div>
  <div v-for="c in cards" :key="c.key" class="mcard" :id="'metric-' + c.key">
    <div class="mcard-title">{{ c.title }}</div>
    <div class="mcard-value"><span class="mcard-number">{{ c.value }}</span><span v-if="c.unit"
         class="mcard-unit">{{ c.unit }}</span></div>
    <svg v-if="c.spark.length > 1" class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" role="img"
         :aria-label="c.title + ' over the last 30 minutes: ' + c.range">
      <polyline :points="points(c.spark)" fill="none" stroke="currentColor" stroke-width="1.5"
                vector-effect="non-scaling-stroke"/>
    </svg>
    <div v-else class="spark spark-empty" aria-hidden="true"></div>
    <div class="mcard-change">
      <span :class="['trend', 'trend-' + c.trend]" role="img" :aria-label="'trend ' + c.words">
        <span class="material-icons" aria-hidden="true">{{ arrow(c.trend) }}</span></span>
      <span>{{ c.change }}</span>
    </div>
    <div class="mcard-detail">{{ c.detail }}</div>
  </div>
</section>`,
  props: {
    cards0: { type: Array, default: () => [] },
    health0: { type: Object, default: () => ({ status: "unknown", alerts: "" }) },
  },
  data() {
    return { cards: this.cards0, health: this.health0 };
  },
  computed: {
    icon() {
      return { healthy: "check_circle", degraded: "warning", unhealthy: "error", critical: "dangerous" }[
        this.health.status] || "help";
    },
  },
  methods: {
    arrow(trend) {
      return { up: "trending_up", down: "trending_down" }[trend] || "trending_flat";
    },
    points(values) {
      const low = Math.min(...values), high = Math.max(...values);
      const span = high - low || 1;
      const step = 100 / (values.length - 1);
      return values.map((v, i) => `${(i * step).toFixed(1)},${(22 - ((v - low) / span) * 20).toFixed(1)}`).join(" ");
    },
    // Called by the server.
    set(cards, health) {
      this.cards = cards;
      this.health = health;
    },
  },
};
