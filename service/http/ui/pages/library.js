// The library: originals as a grid of cards, filters in the address, uploads with progress.
import { get, request, upload } from "../api.js";
import { bytes, confirmDialog, errorBox, h, micros, seconds, showError, uid, when } from "../components/dom.js";
import { media as mediaRow, soundOnly, thumbnail } from "../components/media.js";
import { written } from "../components/written.js";
import { bus, selection, setParams } from "../state.js";

const PAGE_SIZE = 24;

export async function render(main, { params }) {
  const filters = {
    type: params.get("type") || "",
    uploadedAt: params.get("uploadedAt") || "",
    outputs: params.get("outputs") === "1",
    copies: params.get("copies") === "1", // among the outputs, the copies result addresses made
  };
  const grid = h("ul", { class: "grid", "aria-label": "Media" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const error = errorBox();
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads", "aria-live": "polite" });
  const clearFinished = h("button", { type: "button", class: "quiet" }, "Clear finished uploads");
  const uploadsBar = h("div", { class: "uploads-bar", hidden: true }, clearFinished);
  let cursor = null;
  let generation = 0; // only the latest load shows: uploads finishing together each reload

  const read = (from) => get("/bucket/upload", {
    type: filters.type || undefined, uploadedAt: filters.uploadedAt || undefined,
    origin: filters.outputs ? undefined : "upload", limit: PAGE_SIZE, cursor: from || undefined,
    by_address: filters.outputs && !filters.copies ? "false" : undefined,
  });
  async function load(reset) {
    const mine = ++generation;
    if (reset) cursor = null;
    try {
      const page = await read(cursor);
      if (mine !== generation) return;
      if (reset) grid.replaceChildren();
      const cards = page.items.map((media) => card(media, { error, removed }));
      grid.append(...cards);
      cursor = page.next_cursor;
      // Load more pressed for the last page goes: the focus goes on to the first card it read.
      const handOn = !cursor && document.activeElement === more;
      more.hidden = !cursor;
      if (handOn) (cards[0]?.querySelector(".card-title") ?? upButton).focus();
      showError(error, null);
      if (!grid.children.length) grid.append(h("li", { class: "empty" }, emptyText(filters)));
    } catch (failure) { showError(error, failure); }
  }
  more.addEventListener("click", () => load(false));
  // A card deleted leaves the focus on the next card's Delete (or the one before's, or
  // Upload), not on the page's top; the last one shown gone, the library is read again (it
  // says so when nothing is left).
  const removed = (item) => {
    const next = (item.nextElementSibling || item.previousElementSibling)?.querySelector(".card-actions button");
    const hadFocus = item.contains(document.activeElement);
    item.remove();
    if (hadFocus) (next || upButton).focus();
    if (!grid.children.length) load(true);
  };

  const typeId = uid("type"); const dateId = uid("date"); const outId = uid("outputs"); const copiesId = uid("copies"); const fileId = uid("files");
  const picker = h("input", { id: fileId, type: "file", multiple: true, accept: "image/*,video/*", class: "visually-hidden", tabIndex: -1, "aria-label": "Files to upload" });
  const upButton = h("button", { type: "button", class: "primary", onclick: () => picker.click() }, "Upload files…");
  const finished = () => [...uploads.querySelectorAll(".upload.finished")];
  const showClear = () => { uploadsBar.hidden = !finished().length; };
  // A row dismissed from the keyboard leaves the focus on the next row's Dismiss, or on Upload.
  const dismiss = (rows) => {
    const next = rows.at(-1)?.nextElementSibling?.querySelector("button") || rows[0]?.previousElementSibling?.querySelector("button");
    const hadFocus = rows.some((row) => row.contains(document.activeElement)) || document.activeElement === clearFinished;
    for (const row of rows) row.remove();
    showClear();
    if (hadFocus) (next || upButton).focus();
  };
  clearFinished.addEventListener("click", () => dismiss(finished()));
  const onFiles = (files) => {
    for (const file of files) startUpload(file, uploads, { done: () => load(true), settled: showClear, dismiss });
  };
  picker.addEventListener("change", () => { onFiles(picker.files); picker.value = ""; });

  // Thumbnails and display copies are edits too, made by their result addresses whenever a
  // page shows a picture: among the outputs only on request, as a cache is not anyone's work.
  const copies = h("span", { class: "check", hidden: !filters.outputs },
    h("input", { id: copiesId, type: "checkbox", checked: filters.copies, onchange: (e) => { filters.copies = e.target.checked; changed(); } }),
    h("label", { for: copiesId }, "and copies made by addresses (thumbnails)"));
  const changed = () => {
    copies.hidden = !filters.outputs;
    setParams({ type: filters.type, uploadedAt: filters.uploadedAt, outputs: filters.outputs ? "1" : "", copies: filters.copies ? "1" : "" });
    load(true);
  };
  const toolbar = h("form", { class: "toolbar", onsubmit: (e) => e.preventDefault(), "aria-label": "Filters" },
    h("span", { class: "pair" }, h("label", { for: typeId }, "Type"),
      h("select", { id: typeId, onchange: (e) => { filters.type = e.target.value; changed(); } },
        ["", "image", "video"].map((value) => h("option", { value, selected: value === filters.type }, value || "all")))),
    h("span", { class: "pair" }, h("label", { for: dateId }, "Uploaded on"),
      h("input", { id: dateId, type: "date", value: filters.uploadedAt, onchange: (e) => { filters.uploadedAt = e.target.value; changed(); } })),
    h("span", { class: "check" },
      h("input", { id: outId, type: "checkbox", checked: filters.outputs, onchange: (e) => { filters.outputs = e.target.checked; changed(); } }),
      h("label", { for: outId }, "Show edit outputs too")),
    copies, upButton, picker);

  const drop = h("div", { class: "dropzone", hidden: true, "aria-hidden": "true" }, "Drop images or videos to upload them");
  let depth = 0;
  const dragging = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  const listeners = {
    dragenter: (e) => { if (dragging(e)) { depth += 1; drop.hidden = false; } },
    dragleave: () => { depth = Math.max(0, depth - 1); if (!depth) drop.hidden = true; },
    dragover: (e) => { if (dragging(e)) e.preventDefault(); },
    drop: (e) => { if (!dragging(e)) return; e.preventDefault(); depth = 0; drop.hidden = true; onFiles(e.dataTransfer.files); },
  };
  for (const [name, listener] of Object.entries(listeners)) document.addEventListener(name, listener);

  // What the filters list: its kind, its day, the outputs (and among them the copies) only
  // when asked for.
  const shows = (item) => (!filters.type || item.kind === filters.type)
    && (!filters.uploadedAt || item.uploaded_at.slice(0, 10) === filters.uploadedAt)
    && (filters.outputs || item.origin !== "edit")
    && (filters.copies || !item.by_address);
  // A media not shown yet goes where the listing would have it, newest first (one uploaded now
  // on top); one older than every card shown, while more are still to load, is left to Load more.
  const newer = (a, b) => micros(a.uploaded_at) - micros(b.uploaded_at) || (a.id > b.id ? 1 : -1);
  const add = (item) => {
    if (!shows(item) || grid.querySelector(`[data-media="${item.id}"]`)) return;
    const before = [...grid.querySelectorAll(".card")]
      .find((shown) => newer(item, { uploaded_at: shown.dataset.uploaded, id: shown.dataset.media }) > 0);
    if (!before && cursor) return;
    grid.querySelector(".empty")?.remove();
    grid.insertBefore(card(item, { error, removed }), before ?? null);
  };
  // Made or deleted elsewhere (another tab, the API): an upload (or, shown with the outputs,
  // what an edit makes) comes in as it is ready, and a media deleted goes, without a reload.
  const onMedia = ({ detail: item }) => add(item);
  const onMediaDeleted = ({ detail: { id } }) => {
    const item = grid.querySelector(`[data-media="${id}"]`);
    selection.toggle(id, false);
    if (item) removed(item);
  };
  bus.addEventListener("media", onMedia);
  bus.addEventListener("media-deleted", onMediaDeleted);
  // The tab's stream watching again (or for the first time, after this page's first read):
  // what came meanwhile was told to no one. The newest page is read, and what it holds that is
  // not shown comes in; the cards shown stay as they are (a refusal told on one, the focus).
  const catchUp = async () => {
    const page = await read(null).catch(() => null);
    for (const item of page?.items ?? []) add(item);
  };
  bus.addEventListener("resync", catchUp);

  main.append(h("h1", {}, "Library"), toolbar, uploadsBar, uploads, error, grid, h("div", { class: "pager" }, more), drop);
  await load(true);
  return () => {
    for (const [name, listener] of Object.entries(listeners)) document.removeEventListener(name, listener);
    bus.removeEventListener("media", onMedia);
    bus.removeEventListener("media-deleted", onMediaDeleted);
    bus.removeEventListener("resync", catchUp);
  };
}

// An upload's row: its progress, then its outcome and a button to dismiss it (a row still
// uploading has none: it stays until it is told how the upload ended).
function startUpload(file, list, { done, settled, dismiss }) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": `upload of ${file.name}` });
  const outcome = h("span", { class: "outcome" }, "uploading…");
  const row = h("li", { class: "upload" }, h("span", { class: "name" }, file.name), bar, outcome);
  list.prepend(row);
  const finish = (outcomeClass) => {
    row.classList.add(outcomeClass, "finished");
    row.append(h("button", { type: "button", class: "quiet", "aria-label": `Dismiss the upload of ${file.name}`, onclick: () => dismiss([row]) }, "Dismiss"));
    settled();
  };
  upload(file, (fraction) => { bar.value = fraction; }).then((media) => {
    outcome.replaceChildren(media.duplicate ? "duplicate of " : "new: ",
      h("a", { href: `#/media/${media.id}` }, media.original_name || media.id));
    finish(media.duplicate ? "duplicate" : "new");
    done();
  }, (error) => {
    outcome.textContent = `refused: ${error.message}`;
    bar.setAttribute("aria-label", `upload of ${file.name}: refused`); // its bar turns red
    finish("refused");
  });
}

function emptyText(filters) {
  if (!filters.type && !filters.uploadedAt) return "Nothing here yet: drop images or videos on the page, or choose Upload files.";
  const what = filters.type ? `${filters.type}s` : "media";
  const when = filters.uploadedAt ? ` uploaded on ${filters.uploadedAt}` : "";
  return `No ${what}${when}. Change the filters above to see more.`;
}

// A card opens the media's editor from its picture (for sound alone, a speaker and the words
// saying so: the editor plays it) and from its name. The picture's link names a video's length,
// which its badge shows, and sound alone as such, for a screen reader too.
function card(media, { error, removed }) {
  const name = media.original_name || media.id;
  const selectId = uid("select");
  const kind = soundOnly(media) ? "sound only" : media.kind;
  const facts = [kind, media.width && `${media.width}×${media.height}`, bytes(media.size_bytes)];
  const spoken = media.kind === "video" ? ` (${kind}, ${media.duration_seconds?.toFixed(1) ?? "?"} seconds)` : "";
  const remove = h("button", { type: "button", class: "quiet", "aria-label": `Delete ${name}` }, "Delete");
  const refused = errorBox(); // on the card: the page's own box may be a screen away
  const item = h("li", { class: "card", "data-media": media.id, "data-uploaded": media.uploaded_at },
    h("a", { class: "thumb", href: `#/media/${media.id}`, "aria-label": `Edit ${name}${spoken}` }, thumbnail(media),
      media.kind === "video" ? h("span", { class: "duration" }, seconds(media.duration_seconds)) : null),
    h("div", { class: "card-body" },
      h("a", { class: "card-title", href: `#/media/${media.id}` }, name),
      h("p", { class: "facts" }, facts.filter(Boolean).join(" · ")),
      h("p", { class: "facts" }, when(media.uploaded_at), media.by_address ? " · a copy made by its address" : media.source_edit_id ? " · edit output" : ""),
      media.source_edit_id ? madeFrom(media) : null,
      h("div", { class: "card-actions" },
        h("span", { class: "check" },
          h("input", { id: selectId, type: "checkbox", checked: selection.has(media.id), onchange: (e) => selection.toggle(media.id, e.target.checked) }),
          h("label", { for: selectId }, "Select", h("span", { class: "visually-hidden" }, ` ${name}`))),
        remove),
      refused));
  remove.addEventListener("click", async () => {
    const text = "Its bytes are removed from the bucket, and its editing sessions with their undo history. "
      + "Results already made from it stay, each a media of its own.";
    const sure = await confirmDialog({ title: `Delete ${name}?`, text });
    if (!sure) return;
    try {
      await request("DELETE", `/bucket/upload/${media.id}`);
      selection.toggle(media.id, false);
      removed(item);
      showError(error, null);
    } catch (failure) {
      await sayRefused(refused, name, failure);
      refused.scrollIntoView({ block: "nearest" });
      remove.focus();
    }
  });
  return item;
}

// Why a media was not deleted. One a session's step made is held by that session's undo
// history (409 HeldBySession, whose fields name the session, the step and the session's
// original): said as the history of the original, by its name, with the way to free it, its
// editor, opened on that session, where the history can be discarded. Ids mean nothing to a
// person; any other refusal is told in the API's words.
async function sayRefused(box, name, failure) {
  const held = failure.body?.error === "HeldBySession" ? failure.body : null;
  if (!held?.session_media_id) {
    showError(box, new Error(`${name} was not deleted: ${failure.message}`));
    return;
  }
  const original = await mediaRow(held.session_media_id).catch(() => null);
  const originalName = original?.original_name || "the media it was made from";
  const editor = `#/media/${held.session_media_id}?session=${held.session_id}`;
  box.replaceChildren(`${name} was not deleted: it is step ${held.session_step} of the undo history of `,
    h("a", { href: editor }, originalName),
    `. To free it, open ${originalName} and choose “Discard history”.`);
  box.hidden = false;
}

// Every output is named <source>-edited.<ext>: its card says what made it, the media it was
// made from (a link to its editor) and the edit's operations, as the editor lists them.
function madeFrom(item) {
  const line = h("div", { class: "made-from" });
  const source = item.source_media_id ? mediaRow(item.source_media_id).catch(() => null) : Promise.resolve(null);
  Promise.all([source, get(`/edit/${item.source_edit_id}`).catch(() => null)]).then(([from, edit]) => {
    const named = from ? h("a", { href: `#/media/${from.id}` }, from.original_name || from.id) : "a media since deleted";
    line.replaceChildren(h("p", { class: "facts" }, "Made from ", named, edit ? " by" : ""), ...(edit ? [written(edit)] : []));
  });
  return line;
}
