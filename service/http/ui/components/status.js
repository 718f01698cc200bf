// An edit's status as a chip, with what a person needs to know about it.
import { h } from "./dom.js";

export function chip(status) {
  return h("span", { class: `chip chip-${status}` }, status);
}

export function progressBar(edit) {
  if (edit.status !== "processing") return null;
  const value = edit.progress ?? 0;
  return h("progress", {
    max: 1, value, "aria-label": `progress ${Math.round(value * 100)}%`,
  });
}

// What a person needs to know about an edit beyond its status: a retry's trial and back-off, a
// failure's reason; null when its status says it all.
export function detailText(edit) {
  if (edit.status === "error") {
    const wait = Math.max(0, Math.round((new Date(edit.run_after) - Date.now()) / 1000));
    return `trial ${edit.trial} of ${edit.max_trials}, retrying in ${wait} s: ${edit.error ?? ""}`;
  }
  if (edit.status === "failed") return `failed: ${edit.error ?? "no reason given"}`;
  return null;
}

export function statusDetail(edit) {
  const text = detailText(edit);
  return text === null ? null : h("p", { class: "detail" }, text);
}

export const LIVE = new Set(["queued", "processing", "error"]);
export const CAN_RETRY = new Set(["failed", "cancelled"]);
export const STATUSES = ["queued", "processing", "completed", "error", "failed", "cancelled"];
