// The router and the top bar. The hash is the address of what is shown, so it can be
// bookmarked: #/library?type=video, #/media/ID, #/workflows/ID/executions, #/queue.
import { liveInEveryTab } from "./api.js";
import { nothingAt } from "./components/dom.js";
import { bus, parseHash } from "./state.js";
import * as library from "./pages/library.js";
import * as editor from "./pages/editor.js";
import * as workflows from "./pages/workflows.js";
import * as queue from "./pages/queue.js";

const routes = [
  [/^\/library$/, library, () => ({})],
  [/^\/media\/([\w-]+)$/, editor, (m) => ({ id: m[1] })],
  [/^\/workflows$/, workflows, () => ({})],
  [/^\/workflows\/([\w-]+)(?:\/(steps|runs|executions))?$/, workflows, (m) => ({ id: m[1], tab: m[2] || "steps" })],
  [/^\/queue$/, queue, () => ({})],
];

let cleanup = null;

async function show() {
  const { path, params } = parseHash();
  const match = routes.map(([pattern, page, args]) => {
    const found = path.match(pattern);
    return found && { page, args: args(found) };
  }).find(Boolean);
  cleanup?.();
  cleanup = null;
  const main = document.getElementById("page");
  const focusLeaves = main.contains(document.activeElement); // a link or button of the page left
  main.replaceChildren();
  for (const link of document.querySelectorAll("[data-nav]")) {
    const current = path.startsWith(`/${link.dataset.nav}`) || (link.dataset.nav === "library" && path.startsWith("/media"));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!match) {
    nothingAt(main, { what: "page", back: "#/library", backLabel: "Go to the library" });
    if (focusLeaves) keepFocus(main);
    return;
  }
  cleanup = (await match.page.render(main, { ...match.args, params })) || null;
  if (focusLeaves) keepFocus(main);
}

// The focus was on what the page just replaced: it goes to the new page's start, so the
// keyboard (and a screen reader) goes on from there, not from the window's top. Not if the
// person has moved it meanwhile. The new page is shown from its top, the top bar with it:
// focus() alone would scroll the page's start to the window's top, the bar out of sight.
function keepFocus(main) {
  if (document.activeElement && document.activeElement !== document.body) return;
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function showCounts(counts) {
  document.getElementById("count-running").textContent = counts.processing ?? 0;
  document.getElementById("count-waiting").textContent = (counts.queued ?? 0) + (counts.error ?? 0);
  bus.dispatchEvent(new CustomEvent("stats", { detail: counts }));
}

// The one event stream of every tab (api.js): the pages listen to it on the bus. A stream
// holds a connection for good, and a browser opens at most six to a host over HTTP/1.1: with a
// stream per tab (two per editor), the tab past them never opened, and every tab hung with it.
liveInEveryTab({
  onStats: showCounts,
  onEdit: (edit) => bus.dispatchEvent(new CustomEvent("edit", { detail: edit })),
  onMedia: (media) => bus.dispatchEvent(new CustomEvent("media", { detail: media })),
  onMediaDeleted: (media) => bus.dispatchEvent(new CustomEvent("media-deleted", { detail: media })),
  onOpen: () => bus.dispatchEvent(new Event("resync")),
  onState: (up) => { document.getElementById("stream-state").hidden = up; },
});

// "Skip to content" moves the focus to the page; followed as a link it would set the address
// to #page, which names no page, in place of the one shown.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("page").focus();
});

window.addEventListener("hashchange", show);
show();
