// Operations as written in the edit language, from the API's `query` (an edit's, a step's, a
// workflow's), wherever they are shown: one operation a line with its modifiers (`ops`, the
// JSON, says where each starts), every name=value its own chip, unescaped to be read, so a
// value's "&" (text=Tom & Jerry) is inside its chip, never taken for the "&" between two. An
// import, which is no operation of the language, names its address.
import { h } from "./dom.js";

export function written(item) {
  return h("ol", { class: "written", title: item.query ?? undefined },
    lines(item).map((parts) => h("li", { class: "written-op" }, parts.map((part, index) => [
      // Between two chips, an "&" seen and a pause heard: "text=Tom & Jerry & text_position=top"
      // read aloud is no longer told apart.
      index ? [h("span", { class: "written-and", "aria-hidden": "true" }, " & "), h("span", { class: "visually-hidden" }, ", ")] : null,
      h("span", { class: "written-item" }, part),
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
