// The queue: counts per status, live; the recent edits with filters, cancel and retry.
import { get, request } from "../api.js";
import { errorBox, h, opsText, showError, took, uid, when } from "../components/dom.js";
import { CAN_RETRY, chip, LIVE, progressBar, statusDetail, STATUSES } from "../components/status.js";
import { bus, setParams } from "../state.js";

export async function render(main, { params }) {
  const error = errorBox();
  let status = params.get("status") || "";
  const counts = h("dl", { class: "counts", "aria-live": "polite" });
  const rows = h("tbody");
  const filterId = uid("status");
  const filter = h("select", { id: filterId, onchange: (e) => { status = e.target.value; setParams({ status }); load(); } },
    ["", ...STATUSES].map((s) => h("option", { value: s, selected: s === status }, s || "every status")));
  main.append(h("h1", {}, "Queue"), counts,
    h("div", { class: "toolbar" }, h("label", { for: filterId }, "Show"), filter), error,
    h("table", { class: "table" }, h("caption", { class: "visually-hidden" }, "Recent edits, newest first"),
      h("thead", {}, h("tr", {}, ["Media", "Operations", "Status", "Took", "Queued", ""].map((t) => h("th", { scope: "col" }, t)))), rows));

  function showCounts(values) {
    counts.replaceChildren(...STATUSES.map((s) => h("div", { class: `count count-${s}` }, h("dt", {}, s), h("dd", { "data-status": s }, values[s] ?? 0))));
  }
  function row(edit) {
    const actions = [];
    if (LIVE.has(edit.status)) actions.push(act("Cancel", "DELETE", `/edit/${edit.id}`));
    if (CAN_RETRY.has(edit.status)) actions.push(act("Retry", "POST", `/edit/${edit.id}/retry`));
    return h("tr", { "data-edit": edit.id, "data-status": edit.status },
      h("td", {}, edit.media_id ? h("a", { href: `#/media/${edit.media_id}` }, String(edit.media_id).slice(0, 8)) : "—"),
      h("td", { class: "ops-cell" }, opsText(edit.ops)),
      h("td", {}, chip(edit.status), progressBar(edit), statusDetail(edit)),
      h("td", {}, took(edit)), h("td", {}, when(edit.created_at)), h("td", {}, actions));
  }
  function act(label, method, path) {
    return h("button", { type: "button", class: "quiet", onclick: () => request(method, path).then((edit) => { update(edit); showError(error, null); }).catch((f) => showError(error, f)) }, label);
  }
  function update(edit) {
    const old = rows.querySelector(`[data-edit="${edit.id}"]`);
    const fits = !status || edit.status === status;
    if (old && fits) old.replaceWith(row(edit));
    else if (old) old.remove();
    else if (fits) rows.prepend(row(edit));
  }
  async function load() {
    try {
      const [page, stats] = await Promise.all([get("/edit", { status: status || undefined, limit: 50 }), get("/edit/stats")]);
      rows.replaceChildren(...page.items.map(row));
      showCounts(Object.fromEntries(stats.map((s) => [s.status, s.count])));
      showError(error, null);
    } catch (failure) { showError(error, failure); }
  }
  const onEdit = (event) => update(event.detail);
  const onStats = (event) => showCounts(event.detail);
  bus.addEventListener("edit", onEdit);
  bus.addEventListener("stats", onStats);
  bus.addEventListener("resync", load);
  await load();
  return () => { bus.removeEventListener("edit", onEdit); bus.removeEventListener("stats", onStats); bus.removeEventListener("resync", load); };
}
