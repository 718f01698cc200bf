// What pages share: the one queue-wide event stream's events, and the address.

// `edit` (detail: the edit), `media` (detail: a media ready), `media-deleted` (detail: {id}),
// `stats` (detail: counts per status) and `resync` (read again).
export const bus = new EventTarget();

export function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/library", params: new URLSearchParams(search) };
}

// Set a page's query parameters in the address without adding a history entry for each.
export function setParams(values) {
  const { path, params } = parseHash();
  for (const [name, value] of Object.entries(values)) {
    if (value) params.set(name, value); else params.delete(name);
  }
  const search = params.toString();
  history.replaceState(null, "", `#${path}${search ? `?${search}` : ""}`);
}

// The library's selection, for running a workflow on it; kept for this browser tab.
export const selection = {
  ids() { return JSON.parse(sessionStorage.getItem("selection") || "[]"); },
  has(id) { return this.ids().includes(id); },
  toggle(id, on) {
    const ids = new Set(this.ids());
    if (on) ids.add(id); else ids.delete(id);
    sessionStorage.setItem("selection", JSON.stringify([...ids]));
  },
  clear() { sessionStorage.removeItem("selection"); },
};
