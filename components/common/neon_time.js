// Times as people read them, computed in the browser (in its time zone) so the server never redraws them.
const MINUTE = 60000, HOUR = 3600000, DAY = 86400000;

export function relativeTime(iso, now) {
  if (!iso) return "";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  const delta = now - then;
  const future = delta < 0;
  const span = Math.abs(delta);
  let text;
  if (span < 45000) return future ? "in a moment" : "just now";
  if (span < HOUR) text = Math.round(span / MINUTE) + " min";
  else if (span < DAY) text = Math.round(span / HOUR) + " h";
  else if (span < 7 * DAY) text = Math.round(span / DAY) + " d";
  else return new Date(then).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  return future ? "in " + text : text + " ago";
}

export function dayLabel(iso, now) {
  const then = new Date(Date.parse(iso));
  const today = new Date(now);
  today.setHours(0, 0, 0, 0);
  const day = new Date(then);
  day.setHours(0, 0, 0, 0);
  const days = Math.round((today - day) / DAY);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  return then.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" });
}
