// The editor: one media, one editing session. Operations on the left (from GET /operations),
// the head in the centre, the session's steps on the right, live over the page's one event
// stream (app.js), its edits of this session.
import { get, operations, request } from "../api.js";
import { applyHere } from "../components/applyhere.js";
import { boxProblem, cropBox } from "../components/crop.js";
import { bytes, confirmDialog, errorBox, h, looksLikeId, nothingAt, showError, uid } from "../components/dom.js";
import { grouped, opForm } from "../components/opform.js";
import { LIVE } from "../components/status.js";
import { headChain, stepList } from "../components/steps.js";
import { timeline } from "../components/timeline.js";
import { colourControls } from "../components/colour.js";
import { displayCopy, formatName, soundOnly } from "../components/media.js";
import { mediaPicker } from "../components/picker.js";
import { bus, setParams } from "../state.js";

const COPY_TRIES = 5; // a copy of the head to show, still being made: asked for again this often
const COPY_RETRY_MILLISECONDS = 2000;

export async function render(main, { id, params }) {
  const gone = () => nothingAt(main, { what: "media", back: "#/library", backLabel: "Back to the library" });
  if (!looksLikeId(id)) { gone(); return null; }
  const error = errorBox();
  main.append(error);
  let media; let session; let catalogue = [];
  try {
    media = await get(`/bucket/upload/${id}`);
  } catch (failure) {
    if (failure.status === 404) gone(); else showError(error, failure);
    return null;
  }
  try {
    session = await opened(id, params.get("session"));
  } catch (failure) { showError(error, failure); return null; }
  try { catalogue = (await operations()).operations; } catch (failure) { showError(error, new Error(`The operations could not be read: ${failure.message}`)); }

  const overlay = new Map(); // edit id → the edit as its last event told, while it runs
  const stage = h("div", { class: "stage" });
  const opsPanel = h("aside", { class: "panel ops-panel", "aria-label": "Operations" });
  const steps = stepList({ act: (method, path) => request(method, path).then(acted) });
  const undo = h("button", { type: "button", "aria-keyshortcuts": "Control+Z" }, "Undo");
  const redo = h("button", { type: "button", "aria-keyshortcuts": "Control+Shift+Z" }, "Redo");
  const download = h("a", { class: "button", download: "" }, "Download");
  const historyError = errorBox();
  const waiting = h("p", { class: "facts", hidden: true }, "Undo and redo wait until the steps still to run have finished.");
  const saved = h("p", { class: "saved", "aria-live": "polite" });
  const saveError = errorBox(); // beside the name: the steps above may be a screen long
  const nameId = uid("workflow-name");
  const saveForm = h("form", { class: "save-form" },
    h("label", { for: nameId }, "Save the steps as a workflow"),
    h("input", { id: nameId, name: "name", required: true, placeholder: "web-thumb", autocomplete: "off" }),
    h("button", { type: "submit" }, "Save as workflow"), saveError, saved);
  const discard = h("button", { type: "button", class: "quiet discard" }, "Discard history…");
  const history = h("aside", { class: "panel history", "aria-label": "History" },
    h("div", { class: "history-actions" }, undo, redo, download), waiting, historyError,
    h("h2", {}, "Steps"), steps.announcer, steps.element, saveForm,
    h("div", { class: "discard-history" }, discard));
  main.append(h("h1", {}, media.original_name || media.id), h("div", { class: "editor" }, opsPanel, stage, history));

  let headId = null; let headKind = null; let headSize = null; let tools = null;

  async function apply(items) {
    await request("POST", "/edit", { params: [["session", session.id], ...items] });
    // What was drawn is sent: its Apply beside the picture goes, and the focus it had goes to
    // the steps, where the new step is listed.
    const hadFocus = tools?.applyHere?.withdraw();
    await acted();
    if (hadFocus) steps.element.focus();
  }

  // An action the API took: a refusal told before (nothing to undo, a step not cancelled) is
  // no longer true of the session, and goes.
  function acted() {
    showError(historyError, null);
    return refresh();
  }

  async function showHead() {
    if (session.head.media_id === headId) return;
    headId = session.head.media_id;
    const head = await get(`/bucket/upload/${headId}`);
    headSize = { width: head.width, height: head.height };
    download.href = session.head.content_url;
    download.setAttribute("download", head.original_name || "editroom-result");
    // What Download gives, the result itself, whatever the page shows in its place.
    download.replaceChildren("Download ", h("span", { class: "download-format" }, `${formatName(head.content_type)}, ${bytes(head.size_bytes)}`));
    tools?.dispose?.();
    const kind = soundOnly(head) ? "sound" : head.kind;
    tools = { image: imageStage, video: videoStage, sound: soundStage }[kind](head);
    if (kind !== headKind) { headKind = kind; buildOps(); }
    fitForms(head);
  }

  // What was set for the previous head does not fit the new one: the crop box is cleared, the
  // trim spans the new head's whole duration (as its handles do), the colours are neutral. A
  // video of unknown length (duration_seconds null) has its trim left empty, for the person's
  // own times: 0,0.000 was offered, a trim of nothing.
  function fitForms(head) {
    if (forms.crop) {
      forms.crop.fields.crop.value = "";
      tools.crop?.show(forms.crop.form.closest("details").open);
    }
    const whole = head.duration_seconds == null ? "" : `0,${head.duration_seconds.toFixed(3)}`;
    if (forms.trim) forms.trim.fields.trim.value = whole;
    forms.color?.reset();
  }

  // The head fills the centre column, up or down, keeping its proportions.
  function picture(head, element) {
    const frame = h("div", { class: "picture" }, element);
    if (head.width && head.height) frame.style.setProperty("--ratio", String(head.width / head.height));
    return frame;
  }

  function imageStage(head) {
    const copy = displayCopy(head);
    const image = h("img", { alt: `The current result: ${head.original_name || head.id}`, class: "head" });
    const format = formatName(head.content_type);
    const note = h("p", { class: "facts" }, copy ? `Shown as a WebP copy: browsers cannot show ${format}. Download gives the ${format} itself.` : "");
    if (copy) showCopy(image, copy, note, format); else image.src = head.content_url;
    const offer = applyHere(() => forms.crop?.form, { name: "crop", where: "under the picture" });
    const crop = cropBox(image, head, (r) => { if (forms.crop) { forms.crop.fields.crop.value = `${r.x},${r.y},${r.width},${r.height}`; offer.offer(); } });
    const quick = h("div", { class: "quick-tools", role: "toolbar", "aria-label": "Rotate and flip" },
      quickButton("Rotate left", [["rotate", "-90"]]), quickButton("Rotate right", [["rotate", "90"]]),
      quickButton("Flip horizontally", [["flip", "h"]]), quickButton("Flip vertically", [["flip", "v"]]));
    const frame = picture(head, image);
    frame.append(crop.layer);
    stage.replaceChildren(frame, offer.element, quick, h("p", { class: "facts" }, `${head.width}×${head.height} · ${format}`), ...(copy ? [note] : []));
    return { image, crop, applyHere: offer, dispose: crop.dispose };
  }

  // A copy still being made is answered 202 after a while, which an <img> takes for an error:
  // it is asked for again a few times, then the person is told to download the picture.
  function showCopy(image, src, note, format) {
    let tries = 0;
    image.addEventListener("error", () => {
      if (++tries <= COPY_TRIES) setTimeout(() => { image.src = src; }, COPY_RETRY_MILLISECONDS);
      else note.textContent = `Browsers cannot show ${format}, and no copy to show could be made: download the ${format} to see it.`;
    });
    image.src = src;
  }

  // A video of unknown length (duration_seconds null: an old upload recorded it as 0 s) has no
  // timeline: its handles would span a made-up length. Its trim is typed.
  function videoStage(head) {
    const video = h("video", { src: head.content_url, controls: true, preload: "metadata", class: "head", "aria-label": `The current result: ${head.original_name || head.id}` });
    const offer = applyHere(() => forms.trim?.form, { name: "trim", where: "under the timeline" });
    const line = head.duration_seconds == null ? null : timeline(video, {
      duration: head.duration_seconds, fps: head.frame_rate,
      onChange: (start, end) => {
        if (!forms.trim) return;
        forms.trim.fields.trim.value = `${start.toFixed(3)},${end.toFixed(3)}`;
        // The numbers and Apply, opened in view where the panel is beside the head (at once:
        // whether Apply is then seen decides whether it is offered under the timeline).
        const details = forms.trim.form.closest("details");
        if (!details.open) { details.open = true; reveal(details); }
        offer.offer();
      },
    });
    const format = formatName(head.content_type);
    const note = h("p", { class: "facts", hidden: true }, `This browser cannot play this ${format}: Download gives it as it is, or convert it (format=mp4 or webm).`);
    video.addEventListener("error", () => { note.hidden = false; });
    stage.replaceChildren(picture(head, video), ...(line ? [line.element, offer.element] : []), h("p", { class: "facts" }, `${head.width}×${head.height} · ${length(head)} · ${head.frame_rate?.toFixed(2) ?? "?"} fps · ${format}`), note);
    return { video, line, applyHere: offer };
  }

  function length(head) {
    return head.duration_seconds == null ? "length unknown" : `${head.duration_seconds.toFixed(2)} s`;
  }

  // A video without a picture (audio=extract's m4a, opus or mp3): listened to, not watched.
  function soundStage(head) {
    const audio = h("audio", { src: head.content_url, controls: true, preload: "metadata", "aria-label": `The current result: ${head.original_name || head.id}` });
    stage.replaceChildren(audio, h("p", { class: "facts" }, `sound only · ${length(head)} · ${head.codecs.audio ?? "?"} · ${head.content_type}`));
    return { audio };
  }

  function quickButton(label, items) {
    const button = h("button", { type: "button" }, label);
    button.addEventListener("click", () => apply(items).catch((failure) => showError(historyError, failure)));
    return button;
  }

  const forms = {};
  function buildOps() {
    for (const key of Object.keys(forms)) delete forms[key];
    if (headKind === "sound") { opsPanel.replaceChildren(...noOperationsForSound()); return; }
    opsPanel.replaceChildren(h("h2", {}, `Operations for ${headKind}s`));
    for (const [group, ops] of grouped(catalogue, headKind)) {
      opsPanel.append(h("h3", { class: "group" }, group));
      for (const op of ops) {
        const colour = op.name === "color" ? colourControls(() => tools?.image, op) : null;
        const made = opForm(op, { onApply: apply, extra: colour?.element });
        if (colour) { colour.bind(made.form); made.reset = colour.reset; }
        forms[op.name] = made;
        const details = h("details", { class: "op", "data-op": op.name }, h("summary", {}, op.name, h("span", { class: "op-description" }, op.description)), made.form);
        if (op.name === "crop") {
          details.addEventListener("toggle", () => { // closed, the box goes, and its Apply with it
            tools?.crop?.show(details.open);
            if (!details.open) tools?.applyHere?.withdraw();
          });
          made.checks.crop = (value) => boxProblem(value, op.parameters[0], headSize);
          // A box is drawn only when it fits: one the field would refuse is not shown clipped.
          made.fields.crop.addEventListener("input", (e) => tools?.crop?.set(made.checks.crop(e.target.value.trim()) ? "" : e.target.value));
          made.fields.crop.addEventListener("change", () => made.check("crop"));
        }
        if (op.name === "trim") made.fields.trim.addEventListener("input", (e) => tools?.line?.set(e.target.value));
        // Opened, it is scrolled into view (once its media to choose from are shown, if any).
        const picker = op.reads ? offerMedia(op, made) : null;
        details.addEventListener("toggle", async () => {
          if (!details.open) return;
          await picker?.show();
          if (details.open) reveal(details);
        });
        opsPanel.append(details);
      }
    }
  }

  // overlay and concat name other media: the library's media of that kind, to choose from.
  function offerMedia(op, made) {
    const field = made.fields[op.name];
    const picker = mediaPicker(op, field);
    field.closest(".field").before(picker.element);
    return picker;
  }

  // An operation opened below the panel's fold is scrolled into view within the panel (which
  // scrolls on its own beside the head), its top kept in view; the page itself stays put.
  function reveal(details) {
    const panel = opsPanel.getBoundingClientRect();
    const shown = details.getBoundingClientRect();
    if (shown.bottom > panel.bottom) opsPanel.scrollTop += Math.min(shown.bottom - panel.bottom, shown.top - panel.top);
    else if (shown.top < panel.top) opsPanel.scrollTop += shown.top - panel.top;
  }

  // Every video operation reads the picture (the runner refuses a file without one), so none is
  // offered for sound alone.
  function noOperationsForSound() {
    return [h("h2", {}, "No operations for sound alone"),
      h("p", { class: "facts" }, "The head is sound only, without a picture, and every video operation works on the picture. "
        + "Download the sound, or undo to edit the video again.")];
  }

  function drawSteps() {
    const pressed = [undo, redo].find((button) => button === document.activeElement);
    undo.disabled = !session.can_undo;
    redo.disabled = !session.can_redo;
    discard.disabled = !session.steps?.length;
    // Undo or Redo with the focus, now of no use, hands it to the other, not to the page's top.
    if (pressed?.disabled) handFocusOn();
    waiting.hidden = !session.busy;
    steps.draw(session.steps || [], overlay);
  }

  function handFocusOn() {
    ([undo, redo].find((button) => !button.disabled) ?? steps.element).focus();
  }

  // One read of the session at a time. A refresh asked for while one is on its way (an edit
  // finished after that read was answered) reads once more when it lands, so the page always
  // ends on a read made after the last change it was told of.
  let refreshing = null; let readAgain = false;
  function refresh() {
    if (refreshing) { readAgain = true; return refreshing; }
    refreshing = (async () => {
      do {
        readAgain = false;
        try {
          session = await get(`/sessions/${session.id}`);
          for (const step of session.steps) {
            if (!LIVE.has(step.status)) overlay.delete(step.edit_id);
          }
          drawSteps();
          await showHead();
        } catch (failure) { showError(historyError, failure); }
      } while (readAgain);
      refreshing = null;
    })();
    return refreshing;
  }

  const move = (way) => request("POST", `/sessions/${session.id}/${way}`)
    .then(acted)
    .catch(async (failure) => {
      if (failure.status !== 409) { showError(historyError, failure); return; }
      await refresh(); // the session as it is now says why
      showError(historyError, new Error(cannotMove(way)));
    });

  // Why undo or redo was refused (409), in the page's words: the API's name the session by its id.
  function cannotMove(way) {
    if (session.busy) return `Steps are still running: ${way} once they have finished, or cancel them.`;
    return way === "undo" ? "There is nothing to undo: the head is the original." : "There is nothing to redo: no undone step follows the head.";
  }
  // The history discarded (DELETE /sessions/{id}: its steps still to run are cancelled), the
  // editor starts again from the original, in a new session. What the steps made stays in the
  // library, each a media of its own, which deleting the session frees to be deleted.
  discard.addEventListener("click", async () => {
    const name = media.original_name || "this media";
    const text = `Its steps go, and undo and redo with them; steps still running are cancelled. ${name} stays as it is, `
      + "and the results the steps made stay in the library, each a media of its own that can then be deleted. The editor starts again from the original.";
    if (!await confirmDialog({ title: `Discard the editing history of ${name}?`, text, action: "Discard history" })) return;
    try {
      await request("DELETE", `/sessions/${session.id}`);
      setParams({ session: "" });
      session = await request("POST", "/sessions", { params: { media: id } });
      overlay.clear();
      await acted();
      saved.replaceChildren();
    } catch (failure) { showError(historyError, failure); }
    if (discard.disabled) handFocusOn(); // the button just pressed, now of no use
  });
  undo.addEventListener("click", () => move("undo"));
  redo.addEventListener("click", () => move("redo"));
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.target.closest("input, textarea, select")) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) { event.preventDefault(); move("undo"); }
    if ((key === "z" && event.shiftKey) || key === "y") { event.preventDefault(); move("redo"); }
  };
  document.addEventListener("keydown", onKey);

  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = saveForm.elements.name.value.trim();
    let ops = [];
    try {
      ops = (await wholeHeadChain()).flatMap((step) => step.ops);
      if (!ops.length) throw new Error("There is nothing to save yet: the head is the original. Apply an operation first.");
      savedAs(await request("POST", "/workflows", { json: { name, ops } }));
    } catch (failure) {
      if (failure.status !== 409 || !await offerNewVersion(name, ops)) showError(saveError, failure);
    }
  });

  // The session is read with its newest steps only: older pages are read while the head's
  // chain reaches past those read (or the head, undone far back, is not among them).
  async function wholeHeadChain() {
    let steps = session.steps;
    let older = session.steps_next_cursor;
    const reachesPast = (chain) => (chain.length ? chain[0].follows_edit_id : session.head.edit_id);
    while (older && reachesPast(headChain(steps))) {
      const page = await get(`/sessions/${session.id}`, { steps_cursor: older, steps_limit: 500 });
      steps = [...page.steps, ...steps];
      older = page.steps_next_cursor;
    }
    return headChain(steps);
  }

  function savedAs(workflow) {
    saved.classList.remove("offer");
    saved.replaceChildren("Saved: ", h("a", { href: `#/workflows/${workflow.id}` }, `${workflow.name} (version ${workflow.version})`));
    showError(saveError, null);
  }

  // The name is another workflow's, with other steps: offer to save these as its next version.
  async function offerNewVersion(name, ops) {
    const named = (await get("/workflows", { limit: 500 }).catch(() => ({ items: [] }))).items.find((w) => w.name === name);
    if (!named) return false;
    const next = h("button", { type: "button" }, `Save as version ${named.version + 1} of ${name}`);
    next.addEventListener("click", () => request("PUT", `/workflows/${named.id}`, { json: { ops } })
      .then(savedAs).catch((failure) => showError(saveError, failure)));
    saved.replaceChildren(`A workflow is already named “${name}”, with other steps. `, next, " Or choose another name.");
    saved.classList.add("offer");
    showError(saveError, null);
    next.focus();
    return true;
  }

  // A step this page has not read (asked for in another tab, or through the API), or one that
  // finished, is read with the session at once: refresh() makes one read of a burst of them.
  const onEdit = ({ detail: edit }) => {
    if (edit.session_id !== session.id) return;
    overlay.set(edit.id, edit);
    const unread = !session.steps?.some((step) => step.edit_id === edit.id);
    if (unread || !LIVE.has(edit.status)) refresh();
    else drawSteps();
  };
  bus.addEventListener("edit", onEdit);
  bus.addEventListener("resync", refresh);
  // An edit waiting to retry counts down its back-off.
  const ticker = setInterval(() => { if ([...overlay.values()].some((e) => e.status === "error")) drawSteps(); }, 1000);
  await refresh();
  return () => {
    bus.removeEventListener("edit", onEdit);
    bus.removeEventListener("resync", refresh);
    clearInterval(ticker);
    document.removeEventListener("keydown", onKey);
    tools?.dispose?.();
  };
}

// The session the address names (the library's link to a history that holds a result), when it
// is this media's; otherwise the media's newest, or a new one.
async function opened(id, named) {
  const asked = named ? await get(`/sessions/${named}`).catch(() => null) : null;
  if (asked?.media_id === id) return asked;
  const open = await get("/sessions", { media: id, limit: 1 });
  return open.items[0] || request("POST", "/sessions", { params: { media: id } });
}
