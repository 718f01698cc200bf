// An edit's status as a chip, with what a person needs to know about it.
import { h } from "./dom.js";

export function chip(status) {
  return h("span", { class: `chip chip-${status}` }, status);
}

export function progressBar(edit) {
  if (edit.status !== "processing") return null;
  const bar = h("progress", { max: 1 });
  setProgress(bar, edit.progress ?? 0);
  return bar;
}

// A bar moved on where it is, told to a screen reader too; nothing written when it has not.
export function setProgress(bar, value) {
  if (bar.value === value && bar.hasAttribute("aria-label")) return;
  bar.value = value;
  bar.setAttribute("aria-label", `progress ${Math.round(value * 100)}%`);
}

// What a person needs to know about an edit beyond its status: a retry's trial and back-off, a
// failure's reason; null when its status says it all.
export function detailText(edit) {
  if (edit.status === "error") {
    // A session's step as the session lists it has no run_after: only its events tell it.
    const at = Date.parse(edit.run_after);
    const when = Number.isNaN(at) ? "soon" : `in ${Math.max(0, Math.round((at - Date.now()) / 1000))} s`;
    return `trial ${edit.trial} of ${edit.max_trials}, retrying ${when}: ${edit.error ?? ""}`;
  }
  if (edit.status === "failed") return `failed: ${edit.error ?? "no reason given"}${edit.fails_alike ? " (trying it again would fail the same way)" : ""}`;
  return null;
}

export function statusDetail(edit) {
  const text = detailText(edit);
  return text === null ? null : h("p", { class: "detail" }, text);
}

export const LIVE = new Set(["queued", "processing", "error"]);

export const STATUSES = ["queued", "processing", "completed", "error", "failed", "cancelled"];
