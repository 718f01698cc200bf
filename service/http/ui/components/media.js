// A media as people recognise it: a small picture and its name. Media rows never change (only
// disappear), so each is read once per page load and shared by every table that shows it.
import { ApiError, get } from "../api.js";
import { h } from "./dom.js";

const rows = new Map(); // id → Promise of the media row (GET /bucket/upload/{id}, or primed)

export function media(id) {
  if (!rows.has(id)) rows.set(id, get(`/bucket/upload/${id}`));
  return rows.get(id);
}

// The media a page is about to draw, read together: one GET /bucket/upload?id=...&id=... for
// every id not read yet, instead of one request each (a queue of 50 edits made a hundred). An id
// the answer lacks is a media deleted since: media(id) then fails as its own GET would have
// (a 404), told as deleted, but without a request the browser logs as an error. Ids asked
// for within GATHER_MILLISECONDS go together: the edits the stream tells at once (a batch
// completing in one statement) arrive as events a few milliseconds apart. Should the reading
// fail (the service unreachable), each id is read on its own, as before.
const GATHER_MILLISECONDS = 10;
const IDS_PER_REQUEST = 500; // the API takes as many ids as a page holds: `limit`, up to 500
let gathered = new Map(); // id → its promise's resolve and reject, until the ids are asked for
let gathering = null;

export function primeMedia(ids) {
  for (const id of ids) {
    if (!id || rows.has(id)) continue;
    const row = new Promise((resolve, reject) => gathered.set(id, { resolve, reject }));
    row.catch(() => {}); // a media primed but not drawn (yet) fails unseen
    rows.set(id, row);
  }
  if (gathered.size && !gathering) gathering = setTimeout(askGathered, GATHER_MILLISECONDS);
}

function askGathered() {
  const asked = [...gathered];
  gathered = new Map();
  gathering = null;
  for (let start = 0; start < asked.length; start += IDS_PER_REQUEST) {
    const some = asked.slice(start, start + IDS_PER_REQUEST);
    const params = [...some.map(([id]) => ["id", id]), ["limit", some.length]];
    get("/bucket/upload", params).then((page) => {
      const found = new Map(page.items.map((item) => [item.id, item]));
      for (const [id, { resolve, reject }] of some) {
        if (found.has(id)) resolve(found.get(id));
        else reject(new ApiError(404, { detail: `media ${id} does not exist` }));
      }
    }, () => {
      for (const [id, { resolve, reject }] of some) {
        rows.delete(id);
        media(id).then(resolve, reject);
      }
    });
  }
}

// The media an edit's row shows (mediaCell, resultsCell): the one it read, and its results.
export function mediaOfEdit(edit) {
  const outputs = edit.status === "completed" ? (edit.outputs ?? []).map((output) => output.id) : [];
  return [edit.media_id, ...outputs].filter(Boolean);
}

// A video media without a picture: the sound audio=extract kept (no video codec, no size),
// which no operation can edit (the API refuses it).
export function soundOnly(item) {
  return item.kind === "video" && !item.codecs?.video;
}

// The result address of a small WebP of an image (GET /media/{id}/{operations}): made once,
// then cached by the browser for good.
export const THUMBNAIL_WIDTH = 320;
export const THUMBNAIL_OPERATIONS = `resize=${THUMBNAIL_WIDTH}x&format=webp`;

// What browsers show as it is. Any other picture (a TIFF) is shown through a copy made at its
// result address (GET /media/{id}/{operations}), as thumbnails are: a WebP no larger than
// the head can be shown; its download is still the picture itself.
const DISPLAYED = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/bmp"]);
// Of those, what a thumbnail may show as it is when small: every browser shows these alike.
const SHOWN_AS_IS = new Set([...DISPLAYED].filter((type) => !["image/avif", "image/bmp"].includes(type)));
export const DISPLAY_OPERATIONS = "resize=2048x2048&format=webp&quality=90";

// The address of a copy to show in place of an image browsers cannot show; null for any other.
export function displayCopy(item) {
  return item.kind === "image" && !DISPLAYED.has(item.content_type) ? `/media/${item.id}/${DISPLAY_OPERATIONS}` : null;
}

// A format as people name it, from a content type: image/tiff is TIFF, video/x-matroska MKV.
const FORMAT_NAMES = {
  "image/jpeg": "JPEG", "image/webp": "WebP", "video/webm": "WebM", "video/x-matroska": "MKV",
  "video/quicktime": "MOV", "audio/mp4": "M4A", "audio/mpeg": "MP3", "audio/ogg": "Ogg",
};
export function formatName(contentType) {
  return FORMAT_NAMES[contentType] ?? (contentType || "").split("/").pop().replace(/^x-/, "").toUpperCase();
}

// A small copy of an image, or a video's first frame as its poster (only its metadata is
// read); sound alone, which has no frame, says so with a speaker. An image no wider than the
// copy, in a format browsers show, is its own thumbnail: no edit is made for it, so the small
// copies themselves (listed with the edit outputs) never get copies of their own. While the
// small copy is still being made (202), or where addresses must be signed (403), the image
// itself is shown instead.
export function thumbnail(item) {
  if (soundOnly(item)) return h("span", { class: "sound-only" }, speaker(), h("span", { class: "sound-label" }, "Sound only"));
  if (item.kind === "video") {
    return h("video", { src: `${item.content_url}#t=0.1`, preload: "metadata", muted: true, playsInline: true, "aria-hidden": "true", tabIndex: -1 });
  }
  const small = item.width && item.width <= THUMBNAIL_WIDTH && SHOWN_AS_IS.has(item.content_type);
  const src = small ? item.content_url : `/media/${item.id}/${THUMBNAIL_OPERATIONS}`;
  const img = h("img", { src, alt: "", loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => { img.src = item.content_url; }, { once: true });
  return img;
}

// A loudspeaker with two waves, drawn here: no image is fetched for it.
const SVG = "http://www.w3.org/2000/svg";
function speaker() {
  const svg = (tag, attributes) => {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    return element;
  };
  const icon = svg("svg", { viewBox: "0 0 24 24", class: "sound-icon", "aria-hidden": "true", focusable: "false" });
  icon.append(svg("path", { d: "M3 9h4l5-4v14l-5-4H3z", fill: "currentColor" }),
    svg("path", { d: "M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round" }));
  return icon;
}

// The media an edit read, as a link to its editor. Without one, says why: an import; a
// session's step whose step before has not completed (it reads that step's result, not known
// until then); a media deleted since.
export function mediaCell(edit) {
  if (!edit.media_id) return h("span", { class: "media-cell muted" }, noMedia(edit));
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

function noMedia(edit) {
  if (edit.ops?.[0]?.op === "import") return "import from a URL";
  if (edit.session_id && !edit.started_at) {
    return edit.status === "queued" ? "the step before's result, once it completes" : "none: the step before did not complete";
  }
  return "deleted media";
}

// What an edit made: each output a link to its editor and one to its bytes, by its name and
// format. No picture: a small copy of a large result would be an edit of its own, listed in
// the very queue that shows it.
export function resultsCell(edit) {
  if (edit.status !== "completed" || !edit.outputs?.length) return null;
  const several = edit.outputs.length > 1;
  return h("ul", { class: "results" }, edit.outputs.map((output, index) => {
    const label = several ? `result ${index + 1}` : "result";
    const name = h("span", { class: "media-name" }, label);
    const open = h("a", { class: "result-open", href: `#/media/${output.id}` }, name);
    const save = h("a", { class: "result-download", href: output.content_url, download: "" }, "Download");
    const item = h("li", {}, open, save);
    media(output.id).then((row) => {
      name.textContent = row.original_name || label;
      open.title = name.textContent;
      save.setAttribute("download", row.original_name || "");
      save.textContent = `Download ${formatName(row.content_type)}`;
      save.setAttribute("aria-label", `Download ${name.textContent} (${formatName(row.content_type)})`);
    }, () => { item.replaceChildren(h("span", { class: "muted" }, `${label}: deleted`)); });
    return item;
  }));
}
