// The stills one step made (frames=best:N), each a choice: the one chosen is shown larger, with
// its time in the video, a link to its own editor and its download. The first is what the next
// step edits when this step is the head; the others are results of their own.
import { h, uid } from "./dom.js";
import { displayCopy, media, thumbnail } from "./media.js";

export function stills(ids) {
  const group = uid("still");
  const preview = h("img", { class: "still-preview", alt: "" });
  const caption = h("span", {});
  const open = h("a", {}, "Open in its editor");
  const save = h("a", { download: "" }, "Download");
  const shown = h("figure", { class: "still-shown" }, preview, h("figcaption", { class: "facts" }, caption, " ", open, " · ", save));
  let chosen = 0;

  function choose(index) {
    chosen = index;
    const id = ids[index];
    open.href = `#/media/${id}`;
    media(id).then((row) => {
      if (chosen !== index) return; // another was chosen meanwhile
      preview.src = displayCopy(row) ?? row.content_url;
      preview.alt = `Still ${index + 1} of ${ids.length}`;
      const at = row.source_seconds == null ? "" : `, at ${row.source_seconds.toFixed(2)} s`;
      caption.textContent = `Still ${index + 1} of ${ids.length}${at}.`;
      save.href = row.content_url;
      save.setAttribute("download", row.original_name || "");
    }, () => { caption.textContent = `Still ${index + 1} has been deleted.`; });
  }

  const options = ids.map((id, index) => {
    const picture = h("span", { class: "still-thumb", "aria-hidden": "true" });
    media(id).then((row) => picture.append(thumbnail(row)), () => {});
    return h("label", { class: "still" },
      h("input", { type: "radio", name: group, value: id, checked: index === 0, onchange: () => choose(index) }),
      picture, h("span", { class: "visually-hidden" }, `Still ${index + 1}`));
  });
  choose(0);
  return h("fieldset", { class: "stills" }, h("legend", {}, `${ids.length} stills: choose one to see it`),
    h("div", { class: "still-choices" }, options), shown);
}
