// A media as people recognise it: a small picture and its name. Media rows never change (only
// disappear), so each is read once per page load and shared by every table that shows it.
import { get } from "../api.js";
import { h } from "./dom.js";

const rows = new Map(); // id → Promise of the media row (GET /bucket/upload/{id})

export function media(id) {
  if (!rows.has(id)) rows.set(id, get(`/bucket/upload/${id}`));
  return rows.get(id);
}

// An image itself, or a video's first frame as its poster (only its metadata is read).
export function thumbnail(item) {
  if (item.kind === "video") {
    return h("video", { src: `${item.content_url}#t=0.1`, preload: "metadata", muted: true, playsInline: true, "aria-hidden": "true", tabIndex: -1 });
  }
  return h("img", { src: item.content_url, alt: "", loading: "lazy", decoding: "async" });
}

// The media an edit read, as a link to its editor; an import or a deleted media says so.
export function mediaCell(edit) {
  if (!edit.media_id) {
    const imported = edit.ops?.[0]?.op === "import";
    return h("span", { class: "media-cell muted" }, imported ? "import from a URL" : "deleted media");
  }
  const picture = h("span", { class: "mini-thumb", "aria-hidden": "true" });
  const name = h("span", { class: "media-name" }, String(edit.media_id).slice(0, 8));
  const link = h("a", { class: "media-cell", href: `#/media/${edit.media_id}` }, picture, name);
  media(edit.media_id).then((row) => {
    picture.append(thumbnail(row));
    name.textContent = row.original_name || row.id;
    link.title = name.textContent;
  }, () => { name.textContent = "deleted media"; });
  return link;
}
