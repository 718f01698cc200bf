// What a screen reader is told of the queue's counts. They change up to once a second while
// edits run, and a live region over them read out every change, over whatever the person was
// doing. WAI-ARIA's practice is to make live only what a person needs to hear when it happens,
// politely, and to leave a value that changes all the time silent (the roles for such values,
// timer and marquee, are aria-live="off"): the counts stay on the page, to be read when wanted.
// A polite status says only what a person acts on: that edits failed (to look at why) and that
// the queue is empty again (what they waited for is done). What comes within TELL_EVERY_MS of
// the last thing told is told together at the end of that time, never one message a second.
import { h } from "./dom.js";

const TELL_EVERY_MS = 10_000;

const waiting = (counts) => (counts.queued ?? 0) + (counts.processing ?? 0) + (counts.error ?? 0);

export function queueNews() {
  const element = h("p", { class: "visually-hidden", role: "status" });
  let last = null; // the counts heard last; the first only sets where changes are counted from
  let failed = 0; // failures not told yet
  let emptied = false; // the queue went empty since the last thing told
  let toldAt = -Infinity;
  let timer = null;

  function tell() {
    timer = null;
    const news = [];
    if (failed) news.push(`${failed} edit${failed === 1 ? "" : "s"} failed: choose Show "failed" to see why.`);
    if (emptied && last && !waiting(last)) news.push("The queue is empty: nothing is running or waiting.");
    failed = 0; emptied = false;
    if (!news.length) return;
    element.textContent = news.join(" ");
    toldAt = performance.now();
  }
  function heard(counts) {
    if (last) {
      failed += Math.max(0, (counts.failed ?? 0) - (last.failed ?? 0));
      emptied ||= waiting(last) > 0 && !waiting(counts);
    }
    last = counts;
    if ((failed || emptied) && !timer) timer = setTimeout(tell, Math.max(0, toldAt + TELL_EVERY_MS - performance.now()));
  }
  return { element, heard, stop: () => clearTimeout(timer) };
}
