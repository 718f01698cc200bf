// The queue: counts per status, live; the recent edits with filters, cancel and retry. The
// copies result addresses make (thumbnails, display copies: edits the pages ask for whenever
// they show a picture) are listed only on request: a cache, not anyone's own edits.
import { get, request } from "../api.js";
import { errorBox, h, micros, showError, took, uid, when } from "../components/dom.js";
import { mediaCell, mediaOfEdit, primeMedia, resultsCell } from "../components/media.js";
import { queueNews } from "../components/news.js";
import { chip, detailText, LIVE, progressBar, setProgress, statusDetail, STATUSES } from "../components/status.js";
import { mediaNamedIn, written } from "../components/written.js";
import { bus, setParams } from "../state.js";

const SHOWN = 50; // recent edits listed; the newest arrive live on top
const COLUMNS = ["Media", "Operations", "Status", "Result", "Took", "Queued", "Actions"];

export async function render(main, { params }) {
  const error = errorBox();
  let status = params.get("status") || "";
  let copies = params.get("copies") === "1";
  const counts = h("dl", { class: "counts" }); // not live: `news` says what matters of them
  const news = queueNews();
  const countsNote = h("p", { class: "hint counts-note" },
    "The counts are of every edit, the copies made by addresses included.");
  const rows = h("tbody");
  const filterId = uid("status");
  const filter = h("select", { id: filterId, onchange: (e) => { status = e.target.value; setParams({ status }); load(); } },
    ["", ...STATUSES].map((s) => h("option", { value: s, selected: s === status }, s || "every status")));
  const copiesId = uid("copies");
  const copiesBox = h("span", { class: "check" },
    h("input", { id: copiesId, type: "checkbox", checked: copies, onchange: (e) => { copies = e.target.checked; setParams({ copies: copies ? "1" : "" }); shown(); load(); } }),
    h("label", { for: copiesId }, "Show copies made by addresses (thumbnails)"));
  const shown = () => { countsNote.hidden = copies; };
  shown();
  main.append(h("h1", {}, "Queue"), counts, news.element, countsNote,
    h("div", { class: "toolbar" }, h("span", { class: "pair" }, h("label", { for: filterId }, "Show"), filter), copiesBox), error,
    h("table", { class: "table stack" }, h("caption", { class: "visually-hidden" }, "Recent edits, newest first"),
      h("thead", {}, h("tr", {}, COLUMNS.map((t) => h("th", { scope: "col" }, t === "Actions" ? h("span", { class: "visually-hidden" }, t) : t)))), rows));

  function showCounts(values) {
    news.heard(values);
    counts.replaceChildren(...STATUSES.map((s) => h("div", { class: `count count-${s}` }, h("dt", {}, s), h("dd", { "data-status": s }, values[s] ?? 0))));
  }
  function cell(label, ...content) {
    return h("td", { "data-label": label }, ...content);
  }
  // Every row drawn asks for the media it shows that are not read yet, together with those of
  // the rows drawn with it (a page read: one request for all), before its cells ask for them.
  function row(edit) {
    primeMedia([...mediaOfEdit(edit), ...mediaNamedIn(edit)]);
    if (edit.status === "error") waiting.set(edit.id, edit); else waiting.delete(edit.id);
    const refused = errorBox(); // in the row: the top of the table may be a screen away
    const actions = [];
    if (LIVE.has(edit.status)) actions.push(act("Cancel", "DELETE", `/edit/${edit.id}`, refused));
    // The API says whether trying again may end otherwise (its `retryable`), as Retry decides.
    if (edit.retryable) actions.push(act("Retry", "POST", `/edit/${edit.id}/retry`, refused));
    return h("tr", { "data-edit": edit.id, "data-created": edit.created_at, "data-status": edit.status, "data-trial": edit.trial, "data-retryable": String(edit.retryable) },
      cell("Media", mediaCell(edit)),
      cell("Operations", written(edit)),
      // The runner is known only while it holds the edit (the API says no more): told under
      // the status then, not in a column empty for every finished edit.
      cell("Status", chip(edit.status), progressBar(edit), statusDetail(edit),
        edit.worker ? h("p", { class: "detail" }, "on ", h("span", { class: "worker" }, edit.worker)) : null),
      cell("Result", resultsCell(edit)),
      h("td", { "data-label": "Took", class: "took" }, took(edit)), cell("Queued", when(edit.created_at)), cell("", actions, actions.length ? refused : null));
  }
  function act(label, method, path, refused) {
    return h("button", { type: "button", class: "quiet", onclick: () => request(method, path).then(update).catch((f) => showError(refused, f)) }, label);
  }
  function empty() {
    const unlisted = copies ? "" : " Copies made by addresses (thumbnails) are left out: tick the box above to see them.";
    const text = (status ? `No ${status} edits among the recent ones. Choose "every status" to see them all.`
      : `No edits ${copies ? "" : "listed "}yet. Open a picture or a video from the Library and apply an operation; it shows here while it runs.`) + unlisted;
    return h("tr", { class: "empty-row" }, h("td", { colSpan: COLUMNS.length, class: "empty" }, text));
  }
  // A row is drawn again when its edit's status, trial or `retryable` changes (a step whose
  // session settled is told again); progress is written in place, so a Cancel pressed and held
  // meanwhile is the button released.
  function update(edit) {
    const old = rows.querySelector(`[data-edit="${edit.id}"]`);
    const fits = (!status || edit.status === status) && (copies || !edit.by_address);
    const same = old && old.dataset.status === edit.status && old.dataset.trial === String(edit.trial) && old.dataset.retryable === String(edit.retryable);
    if (old && fits && same) moved(old, edit);
    else if (old && fits) {
      const was = focusIn(old);
      old.replaceWith(row(edit));
      refocus(was);
    }
    else if (old) old.remove();
    else if (fits) place(row(edit), edit);
    if (rows.querySelector("[data-edit]")) rows.querySelector(".empty-row")?.remove();
    while (rows.children.length > SHOWN) rows.lastElementChild.remove();
    if (!rows.children.length) rows.append(empty());
  }
  // A row drawn again (its edit changed, or the list read again) keeps the keyboard's focus,
  // which would go with the old row: on its button of the same name (Cancel), or its other
  // (Retry, once cancelled), or the row itself.
  function focusIn(tr) {
    return tr?.contains(document.activeElement) ? { id: tr.dataset.edit, label: document.activeElement.textContent } : null;
  }
  function refocus(was) {
    const fresh = was && rows.querySelector(`tr[data-edit="${was.id}"]`);
    if (!fresh) return;
    const buttons = [...fresh.querySelectorAll("button")];
    const next = buttons.find((button) => button.textContent === was.label) ?? buttons[0];
    if (!next) fresh.tabIndex = -1;
    (next ?? fresh).focus();
  }
  // Where the listing would have it, newest first: a new edit on top; an older one told of
  // (a copy asked for by name, a session's step told again) among the rows, or not at all
  // when it is older than every edit a full list shows.
  function place(tr, edit) {
    const key = [micros(edit.created_at), edit.id];
    const newer = (row) => { const at = micros(row.dataset.created); return at > key[0] || (at === key[0] && row.dataset.edit > key[1]); };
    const listed = [...rows.querySelectorAll("tr[data-edit]")];
    const before = listed.find((row) => !newer(row));
    if (before) rows.insertBefore(tr, before);
    else if (listed.length < SHOWN) rows.append(tr);
  }
  function moved(old, edit) {
    const bar = old.querySelector("progress");
    if (bar) setProgress(bar, edit.progress ?? 0);
    const time = old.querySelector("td[data-label='Took']");
    if (time.textContent !== took(edit)) time.textContent = took(edit);
  }
  async function load() {
    try {
      const [page, stats] = await Promise.all([get("/edit", { status: status || undefined, by_address: copies ? undefined : "false", limit: SHOWN }), get("/edit/stats")]);
      const was = focusIn(document.activeElement?.closest?.("tbody tr[data-edit]"));
      rows.replaceChildren(...(page.items.length ? page.items.map(row) : [empty()]));
      refocus(was);
      showCounts(Object.fromEntries(stats.map((s) => [s.status, s.count])));
      showError(error, null);
    } catch (failure) { showError(error, failure); }
  }
  // An edit waiting to retry counts down its back-off, as in the editor: edit id → the edit.
  const waiting = new Map();
  const ticker = setInterval(() => {
    for (const [id, edit] of waiting) {
      const detail = rows.querySelector(`tr[data-edit="${id}"][data-status="error"] td[data-label="Status"] .detail`);
      if (detail) detail.textContent = detailText(edit); else waiting.delete(id);
    }
  }, 1000);
  const onEdit = (event) => update(event.detail);
  const onStats = (event) => showCounts(event.detail);
  bus.addEventListener("edit", onEdit);
  bus.addEventListener("stats", onStats);
  bus.addEventListener("resync", load);
  await load();
  return () => { clearInterval(ticker); news.stop(); bus.removeEventListener("edit", onEdit); bus.removeEventListener("stats", onStats); bus.removeEventListener("resync", load); };
}
