// Operations as written in the edit language, from the API's `query` (an edit's, a step's, a
// workflow's), wherever they are shown: one operation a line with its modifiers (`ops`, the
// JSON, says where each starts), every name=value its own chip, unescaped to be read, so a
// value's "&" (text=Tom & Jerry) is inside its chip, never taken for the "&" between two. An
// import, which is no operation of the language, names its address. A media an operation names
// (concat's videos, overlay's image) is shown by its name, a link to its editor.
import { h, ID_PATTERN } from "./dom.js";
import { media } from "./media.js";

const ID = new RegExp(`(${ID_PATTERN})`, "i");

export function written(item) {
  return h("ol", { class: "written", title: item.query ?? undefined },
    lines(item).map((parts) => h("li", { class: "written-op" }, parts.map((part, index) => [
      // Between two chips, an "&" seen and a pause heard: "text=Tom & Jerry & text_position=top"
      // read aloud is no longer told apart.
      index ? [h("span", { class: "written-and", "aria-hidden": "true" }, " & "), h("span", { class: "visually-hidden" }, ", ")] : null,
      h("span", { class: "written-item" }, named(part)),
    ]).flat(2))));
}

// The name=value items of each operation, one list an operation.
function lines(item) {
  if (item.query === null || item.query === undefined) {
    const [first = {}] = item.ops || [];
    return [[first.op === "import" ? `import ${first.url}` : first.op || ""]];
  }
  const names = (item.ops || []).map((op) => op.op);
  const found = [];
  for (const part of item.query.split("&")) {
    const name = part.split("=")[0];
    if (!found.length || name === names[found.length]) found.push([]);
    found.at(-1).push(unescaped(part));
  }
  return found;
}

function unescaped(part) {
  try { return decodeURIComponent(part); } catch { return part; }
}

// The media ids `written(item)` names, to be read with the rest of a page's media (primeMedia).
export function mediaNamedIn(item) {
  return lines(item).flat().flatMap((part) => part.split(ID).filter((_, index) => index % 2));
}

// A part's media ids as links named by their media (the id until the name is read).
function named(part) {
  return part.split(ID).map((piece, index) => (index % 2 ? mediaLink(piece) : piece));
}

function mediaLink(id) {
  const link = h("a", { href: `#/media/${id}`, title: id }, `${id.slice(0, 8)}…`);
  media(id).then((row) => { link.textContent = row.original_name || id; },
    () => { link.replaceWith(h("span", { title: id }, "deleted media")); });
  return link;
}
