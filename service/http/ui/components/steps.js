// A session's steps, newest first, drawn in place. Each step's row is made once; then only what
// changed is written to it (its status, its bar, its detail, which buttons it offers), so a
// button pressed and held while progress arrives is the button released, and the keyboard's
// focus stays where it is. A screen reader is told of changes of status only (`announcer`).
import { errorBox, h, showError, when } from "./dom.js";
import { primeMedia } from "./media.js";
import { detailText, LIVE, setProgress } from "./status.js";
import { stills } from "./stills.js";
import { mediaNamedIn, written } from "./written.js";

const EMPTY = "No steps yet. Choose an operation, set it (drag a box to crop, the handles to trim) and apply it: each edit is listed here as it runs.";

// `act(method, path)`: a step's Cancel or Retry pressed; a refusal is told on its step.
export function stepList({ act }) {
  // Focusable from a script only: it takes the focus of a control gone (editor.js).
  const element = h("ol", { class: "steps", "aria-label": "Steps, newest first", tabindex: -1 });
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const empty = h("li", { class: "empty" }, EMPTY);
  const rows = new Map(); // edit id → its row
  const told = new Map(); // edit id → the status last announced

  // `steps` as the session was last read; `overlay`: edit id → the edit as its last event told,
  // while it runs. Whether a step is abandoned, and whether Retry may help, the API says.
  function draw(steps, overlay) {
    const newest = [...steps].reverse();
    const news = [];
    const edits = newest.map((step) => ({ ...step, id: step.edit_id, ...(overlay.get(step.edit_id) || {}) }));
    primeMedia(edits.flatMap(mediaOfStep)); // read together, before the rows ask for them
    for (const [index, step] of newest.entries()) {
      if (!rows.has(step.edit_id)) rows.set(step.edit_id, stepRow(step, act));
      const edit = edits[index];
      rows.get(step.edit_id).update(edit, { isHead: step.is_head, abandoned: step.abandoned });
      if (told.has(edit.id) && told.get(edit.id) !== edit.status) news.push(`Step #${step.step} ${edit.status}.`);
      told.set(edit.id, edit.status);
    }
    const wanted = newest.length ? newest.map((step) => rows.get(step.edit_id).row) : [empty];
    for (const [id, view] of rows) if (!wanted.includes(view.row)) { view.row.remove(); rows.delete(id); }
    if (wanted[0] !== empty) empty.remove();
    // Only a row out of its place moves (a new step goes on top): moving a row would take the
    // focus from its button.
    wanted.forEach((row, index) => { if (element.children[index] !== row) element.insertBefore(row, element.children[index] ?? null); });
    if (news.length) announcer.textContent = news.join(" ");
  }
  return { element, announcer, draw };
}

// The media a step's row shows: those its operations name, and its stills (one result alone
// is the head's or a link, not read).
function mediaOfStep(edit) {
  const outputs = edit.status === "completed" ? edit.output_media_ids ?? [] : [];
  return [...mediaNamedIn(edit), ...(outputs.length > 1 ? outputs : [])];
}

function stepRow(step, act) {
  const status = h("span", { class: "chip" });
  const headMark = h("span", { class: "head-mark", hidden: true }, "head");
  const abandonedMark = h("span", { class: "abandoned-mark", hidden: true }, "abandoned");
  const abandonedNote = h("p", { class: "detail", hidden: true }, "Undone, then replaced by another step: not part of the head, and redo will not bring it back.");
  const bar = h("progress", { max: 1, value: 0, hidden: true });
  const detail = h("p", { class: "detail", hidden: true });
  const refused = errorBox(); // on the step: the top of a long list may be a screen away
  const button = (label, method, path) => h("button", {
    type: "button", class: "quiet", hidden: true,
    onclick: () => act(method, path).then(() => showError(refused, null), (failure) => showError(refused, failure)),
  }, label);
  const cancel = button("Cancel", "DELETE", `/edit/${step.edit_id}`);
  const retryButton = button("Retry", "POST", `/edit/${step.edit_id}/retry`);
  const made = h("div", { class: "step-outputs" }); // a step's several results, once completed
  const row = h("li", { class: "step", "data-edit": step.edit_id },
    h("div", { class: "step-line" }, status, h("span", { class: "step-number" }, `#${step.step}`), headMark, abandonedMark),
    h("div", { class: "step-ops" }, written(step)), abandonedNote, bar, detail, made,
    h("p", { class: "facts" }, when(step.created_at)), h("div", { class: "step-actions" }, cancel, retryButton), refused);

  function update(edit, { isHead, abandoned }) {
    write(row, "className", `step status-${edit.status}${isHead ? " is-head" : ""}${abandoned ? " abandoned" : ""}`);
    if (row.dataset.status !== edit.status) row.dataset.status = edit.status;
    write(status, "className", `chip chip-${edit.status}`);
    write(status, "textContent", edit.status);
    shown(headMark, isHead);
    shown(abandonedMark, abandoned);
    shown(abandonedNote, abandoned);
    progress(bar, edit);
    write(detail, "textContent", detailText(edit) ?? "");
    shown(detail, Boolean(detail.textContent));
    offered(row, cancel, LIVE.has(edit.status));
    offered(row, retryButton, edit.retryable);
    const outputs = edit.status === "completed" ? edit.output_media_ids ?? [] : [];
    if (outputs.length > 1 && !made.firstChild) made.append(stills(outputs));
  }
  return { row, update };
}

function progress(bar, edit) {
  shown(bar, edit.status === "processing");
  setProgress(bar, edit.progress ?? 0);
}

// Written only when it differs, so that nothing is replaced that has not changed.
function write(element, property, value) {
  if (element[property] !== value) element[property] = value;
}

function shown(element, on) {
  if (element.hidden === on) element.hidden = !on;
}

// A button no longer offered that had the focus hands it to the step's other button, or to
// the step's status, which says what became of it ("cancelled"), not to the page's top nor
// to the whole row, which offers nothing; never to another step's Cancel, which acts without
// asking. Tab goes on from there, to the step's Retry when it is offered later.
function offered(row, button, on) {
  const hadFocus = !on && document.activeElement === button;
  shown(button, on);
  if (!hadFocus) return;
  const other = [...row.querySelectorAll(".step-actions button")].find((b) => !b.hidden);
  const status = row.querySelector(".chip");
  if (!other) status.tabIndex = -1;
  (other || status).focus();
}

// The steps that made the head, first to last: from the head back along the step each was made
// on. A step undone and then replaced by another is on no such path, and is not saved with it.
export function headChain(steps) {
  const byEdit = new Map(steps.map((step) => [step.edit_id, step]));
  const chain = [];
  for (let step = steps.find((s) => s.is_head); step; step = byEdit.get(step.follows_edit_id)) chain.unshift(step);
  return chain;
}
