// Workflows: the list with import; one workflow's Steps (as written, and its JSON), Runs and
// Executions tabs.
import { get, request } from "../api.js";
import { confirmDialog, errorBox, h, looksLikeId, nothingAt, showError, took, uid, when } from "../components/dom.js";
import { mediaCell, mediaOfEdit, primeMedia, resultsCell } from "../components/media.js";
import { chip, progressBar, statusDetail, STATUSES } from "../components/status.js";
import { mediaNamedIn, written } from "../components/written.js";
import { bus, selection } from "../state.js";

export async function render(main, { id, tab }) {
  return id ? detail(main, id, tab) : list(main);
}

async function list(main) {
  const error = errorBox();
  const rows = h("tbody");
  const fileId = uid("import");
  const picker = h("input", { id: fileId, type: "file", accept: "application/json,.json", class: "visually-hidden", tabIndex: -1, "aria-label": "Import a workflow (JSON)" });
  picker.addEventListener("change", async () => {
    const [file] = picker.files;
    if (!file) return;
    try {
      const workflow = await request("POST", "/workflows", { body: await file.text() });
      location.hash = `#/workflows/${workflow.id}`;
    } catch (failure) { showError(error, new Error(`${file.name} was not imported: ${failure.message}`)); }
    picker.value = "";
  });
  main.append(h("h1", {}, "Workflows"),
    h("div", { class: "toolbar" },
      h("button", { type: "button", onclick: () => picker.click() }, "Import a workflow (JSON)…"), picker,
      h("span", { class: "facts" }, "A file saved with Download JSON, here or from another editroom.")), error,
    h("table", { class: "table stack" }, h("caption", { class: "visually-hidden" }, "Saved workflows"),
      h("thead", {}, h("tr", {}, ["Name", "Version", "Kinds", "Operations", "Updated"].map((t) => h("th", { scope: "col" }, t)))), rows));
  try {
    const page = await get("/workflows", { limit: 200 });
    primeMedia(page.items.flatMap(mediaNamedIn)); // the media their operations name, in one request
    rows.append(...page.items.map((w) => h("tr", {},
      h("td", { "data-label": "Name" }, h("a", { href: `#/workflows/${w.id}` }, w.name)), h("td", { "data-label": "Version" }, w.version),
      h("td", { "data-label": "Kinds" }, w.kinds.join(", ")), h("td", { "data-label": "Operations" }, written(w)),
      h("td", { "data-label": "Updated" }, when(w.updated_at)))));
    if (!page.items.length) rows.append(h("tr", {}, h("td", { colSpan: 5, class: "empty" }, "No workflows yet. In the editor, apply some operations and choose Save as workflow; or import a JSON file.")));
  } catch (failure) { showError(error, failure); }
  return null;
}

async function detail(main, id, tab) {
  const error = errorBox();
  const gone = () => nothingAt(main, { what: "workflow", back: "#/workflows", backLabel: "Back to the workflows" });
  if (!looksLikeId(id)) { gone(); return null; }
  let workflow;
  try { workflow = await get(`/workflows/${id}`); } catch (failure) {
    if (failure.status === 404) gone(); else { main.append(error); showError(error, failure); }
    return null;
  }
  const tabs = ["steps", "runs", "executions"].map((name) => h("a", {
    href: `#/workflows/${id}/${name}`, role: "tab", "aria-selected": String(name === tab), class: "tab",
  }, name[0].toUpperCase() + name.slice(1)));
  const remove = h("button", { type: "button", class: "danger", disabled: Boolean(workflow.deleted_at) }, "Delete workflow");
  remove.addEventListener("click", async () => {
    if (!await confirmDialog({ title: `Delete ${workflow.name}?`, text: "It can no longer run. Its versions and executions stay readable." })) return;
    try { await request("DELETE", `/workflows/${id}`); location.hash = "#/workflows"; } catch (failure) { showError(error, failure); }
  });
  const panel = h("section", { role: "tabpanel", class: "tabpanel", "aria-label": tab });
  // Delete is the workflow's, beside its name (at phone width, under it): the tabs keep their
  // row, each selected tab's mark on the row's line.
  main.append(h("p", { class: "crumbs" }, h("a", { href: "#/workflows" }, "Workflows"), " / "),
    h("div", { class: "title-row" },
      h("h1", {}, workflow.name, h("span", { class: "version" }, ` version ${workflow.version}`), workflow.deleted_at ? h("span", { class: "chip chip-cancelled" }, "deleted") : null),
      remove),
    h("nav", { class: "tabs-row", role: "tablist", "aria-label": "Workflow" }, tabs), error, panel);
  if (tab === "steps") return steps(panel, workflow, error);
  if (tab === "runs") return runs(panel, workflow, error);
  return executions(panel, workflow, error);
}

function steps(panel, workflow, error) {
  const { id, name, kinds, ops, version } = workflow;
  const text = JSON.stringify({ name, kinds, ops, version }, null, 2);
  const copied = h("span", { "aria-live": "polite", class: "saved" });
  const copy = h("button", { type: "button" }, "Copy JSON");
  copy.addEventListener("click", () => navigator.clipboard.writeText(text)
    .then(() => { copied.textContent = "Copied."; }, (failure) => showError(error, new Error(`The browser refused the clipboard (${failure.message}); select the text instead.`))));
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  // The operations as the editor lists them, then the JSON they are saved, exported and
  // imported as.
  panel.append(h("h2", {}, "Operations"), h("p", { class: "facts" }, `For ${kinds.map((kind) => `${kind}s`).join(" and ")}, in this order.`),
    h("div", { class: "workflow-ops" }, written(workflow)),
    h("h2", {}, "As JSON"),
    h("div", { class: "toolbar" }, copy, h("a", { class: "button", href: url, download: `${name}.json` }, "Download JSON"), copied),
    h("pre", { class: "json", tabindex: 0, "aria-label": `${name} as JSON` }, text),
    h("p", { class: "facts" }, `Import it again with POST /workflows, or on the Workflows page. Id ${id}.`));
  return () => URL.revokeObjectURL(url);
}

async function runs(panel, workflow, error) {
  const selectId = uid("media");
  const select = h("select", { id: selectId, required: true });
  const result = h("div", { class: "saved", "aria-live": "polite" });
  const executionsLink = () => h("a", { href: `#/workflows/${workflow.id}/executions` }, "See the executions");
  const run = async (json, params, names) => {
    try {
      const made = await request("POST", `/workflows/${workflow.id}/run`, { json, params });
      result.replaceChildren(h("p", {}, `${ranTold(made.edits || [made])} `, executionsLink()), leftOutTold(made.left_out, names, workflow));
      showError(error, null);
    } catch (failure) {
      // Every media left out: nothing ran, and the refusal lists why of each as a run does.
      if (failure.body?.left_out) {
        result.replaceChildren(h("p", {}, "Nothing was run."), leftOutTold(failure.body.left_out, names, workflow));
        showError(error, null);
      } else showError(error, failure);
    }
  };
  const one = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); run(undefined, { media: select.value }); } },
    h("label", { for: selectId }, "Run on"), select, h("button", { type: "submit", class: "primary" }, "Run"));
  const chosen = selection.ids();
  const many = h("button", { type: "button", disabled: !chosen.length }, `Run on the ${chosen.length} selected in the library`);
  const note = h("span", { class: "facts" }, chosen.length
    ? "Media the workflow does not fit are left out, each with the reason."
    : "Select media in the Library to run on several at once.");
  // The API decides which media the workflow fits; the names are only to say them by.
  many.addEventListener("click", async () => {
    try { await run({ media: chosen, unfit: "leave_out" }, undefined, await namesOf(chosen)); } catch (failure) { showError(error, failure); }
  });
  panel.append(one, h("div", { class: "toolbar" }, many, note), result);
  try {
    // The originals, as the library shows them (edit outputs and small copies are not what a
    // person runs a workflow on); none chosen until the person chooses.
    const pages = await Promise.all(workflow.kinds.map((kind) => get("/bucket/upload", { type: kind, origin: "upload", limit: 200 })));
    const items = pages.flatMap((page) => page.items);
    select.append(h("option", { value: "" }, "Choose an upload…"),
      ...items.map((m) => h("option", { value: m.id }, `${m.original_name || m.id} (${m.kind})`)));
  } catch (failure) { showError(error, failure); }
  return null;
}

// The names of the library's selection, to say the media a batch left out by: a media
// deleted since it was chosen has none (the API says it does not exist, by its id).
async function namesOf(ids) {
  const read = await Promise.all(ids.map((id) => get(`/bucket/upload/${id}`).catch((failure) => {
    if (failure.status === 404) return null;
    throw failure;
  })));
  return new Map(read.filter(Boolean).map((m) => [m.id, m.original_name || m.id]));
}

// The media a batch left out, each by its name with why in the API's words: its refusal's
// problem, the field that says it without naming the parameter, where the media is "it" and
// the workflow is named as the page names it.
function leftOutTold(leftOut, names, workflow) {
  if (!leftOut?.length) return "";
  const said = leftOut.map(({ media, error }) => {
    const name = names.get(media) || `media ${media}`;
    const why = error.problem.replaceAll(`media ${media}`, "it").replaceAll(`workflow ${workflow.id}`, `workflow ${workflow.name}`);
    return h("li", {}, `${name}: ${why}.`);
  });
  const count = leftOut.length;
  return h("div", { class: "left-out" },
    h("p", {}, `${count} selected ${count === 1 ? "was" : "were"} left out, as the workflow does not fit ${count === 1 ? "it" : "them"}:`),
    h("ul", {}, said));
}

// What a run made: edits queued, and identical ones already done or under way that it answered
// instead (`reused`, listed among the executions of whoever made them).
function ranTold(edits) {
  const reused = edits.filter((edit) => edit.reused).length;
  const queued = edits.length - reused;
  const told = [];
  if (queued) told.push(`${queued} edit${queued === 1 ? "" : "s"} queued.`);
  if (reused) told.push(`${reused} identical edit${reused === 1 ? " was" : "s were"} already made or under way, and reused.`);
  return told.join(" ");
}

async function executions(panel, workflow, error) {
  const counts = h("dl", { class: "counts small" });
  const rows = h("tbody");
  panel.append(counts, h("table", { class: "table stack" }, h("caption", { class: "visually-hidden" }, "Executions, newest first"),
    h("thead", {}, h("tr", {}, ["Media", "Status", "Result", "Operations", "Took", "Queued"].map((t) => h("th", { scope: "col" }, t)))), rows));
  let timer = null;
  async function load() {
    try {
      const page = await get(`/workflows/${workflow.id}/executions`, { limit: 100 });
      counts.replaceChildren(...STATUSES.flatMap((s) => [h("dt", {}, s), h("dd", { "data-status": s }, page.counts[s] ?? 0)]));
      primeMedia(page.items.flatMap((e) => [...mediaOfEdit(e), ...mediaNamedIn(e)])); // one request
      rows.replaceChildren(...page.items.map((e) => h("tr", { "data-edit": e.id, "data-status": e.status },
        h("td", { "data-label": "Media" }, mediaCell(e)),
        h("td", { "data-label": "Status" }, chip(e.status), progressBar(e), statusDetail(e)),
        h("td", { "data-label": "Result" }, resultsCell(e)),
        h("td", { "data-label": "Operations" }, written(e)), h("td", { "data-label": "Took", class: "took" }, took(e)),
        h("td", { "data-label": "Queued" }, when(e.created_at)))));
      if (!page.items.length) rows.append(h("tr", {}, h("td", { colSpan: 6, class: "empty" }, "Not run yet: see the Runs tab.")));
    } catch (failure) { showError(error, failure); }
  }
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
  // The page's one event stream (app.js), its edits of this workflow.
  const onEdit = ({ detail: edit }) => { if (edit.workflow_id === workflow.id) soon(); };
  bus.addEventListener("edit", onEdit);
  bus.addEventListener("resync", soon);
  await load();
  return () => { bus.removeEventListener("edit", onEdit); bus.removeEventListener("resync", soon); clearTimeout(timer); };
}
