// Small helpers to build the page with the DOM itself (no inline styles, no innerHTML).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name in element && !name.includes("-") && name !== "list") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

let unique = 0;
export const uid = (prefix) => `${prefix}-${++unique}`;

// A size, its number and unit joined by a no-break space: "3.1 KB" is never "3.1" over "KB".
export function bytes(size) {
  const units = ["B", "KB", "MB", "GB"];
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)}\u00a0${units[unit]}`;
}

// A time as minutes and seconds, to `digits` decimals: 1:05.2 (or 1:05.20 with 2).
export function seconds(total, digits = 1) {
  if (total === null || total === undefined) return "";
  const minutes = Math.floor(total / 60);
  const rest = total - minutes * 60;
  return `${minutes}:${rest.toFixed(digits).padStart(digits + 3, "0")}`;
}

// An API time (ISO 8601, up to microseconds) as microseconds since the epoch, for putting
// things in the listings' order: Date.parse keeps milliseconds only, so two made within one
// (a batch of uploads, an edit's outputs) would be ordered by their ids instead.
export function micros(iso) {
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? "";
  return Date.parse(iso) * 1000 + Number(fraction.padEnd(6, "0").slice(3, 6));
}

// A time as people read it, "Dec 7, 2026, 2:17 PM": the date and the time each kept whole
// (no-break spaces), so a narrow column shows it on two lines at most, the date over the time,
// never "Dec 7," over "2026," over "2:17 PM". A locale that writes the time first is left as is.
export function when(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const whole = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const time = at.toLocaleTimeString(undefined, { timeStyle: "short" });
  if (!whole.endsWith(time)) return whole;
  const kept = (text) => text.replace(/ /g, "\u00a0");
  return `${kept(whole.slice(0, -time.length).trimEnd())} ${kept(time)}`;
}

// How long an edit ran, its number and unit joined by a no-break space ("87 ms" is never "87"
// over "ms"); a table shows it in a `took` cell, which no break divides (style.css).
export function took(edit) {
  if (!edit.started_at) return "";
  const end = edit.finished_at ? new Date(edit.finished_at) : new Date();
  const ms = end - new Date(edit.started_at);
  return ms < 1000 ? `${Math.max(1, Math.round(ms))}\u00a0ms` : `${(ms / 1000).toFixed(1)}\u00a0s`;
}

// An address that names nothing (a mistyped or deleted id): said plainly, with the way back.
export function nothingAt(main, { what, back, backLabel }) {
  main.append(h("h1", {}, `No ${what} at this address`),
    h("p", {}, "It may have been deleted, or the address mistyped."),
    h("p", {}, h("a", { href: back }, backLabel)));
}

// An id as the API writes them; anything else names nothing, and is not worth asking about.
export const ID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
export const looksLikeId = (text) => new RegExp(`^${ID_PATTERN}$`, "i").test(text);

export function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

export function showError(box, error) {
  box.textContent = error ? (error.message || String(error)) : "";
  box.hidden = !error;
}

// The confirmation dialog of index.html: resolves true when the person confirms.
export function confirmDialog({ title, text, action = "Delete" }) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}
