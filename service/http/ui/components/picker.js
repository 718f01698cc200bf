// Choose other media of the library for an operation that names them (GET /operations says
// which kind in `reads`): overlay's one image, concat's videos in the order chosen. Each media
// is a radio button or a checkbox labelled with its picture and name; the choice fills the
// operation's own field, where an id may still be typed or pasted.
import { get } from "../api.js";
import { errorBox, h, showError, uid } from "./dom.js";
import { soundOnly, thumbnail } from "./media.js";

const LISTED = 100; // the newest originals of the kind; an older one's id can be pasted

export function mediaPicker(op, field) {
  const multiple = op.parameters[0].type === "media";
  const name = uid(`${op.name}-pick`);
  const list = h("div", { class: "picks" }, h("p", { class: "facts" }, `Reading the library's ${op.reads}s…`));
  const error = errorBox();
  const legend = multiple ? `Choose the ${op.reads}s to append, in order` : `Choose the ${op.reads}`;
  const element = h("fieldset", { class: "picker" }, h("legend", {}, legend), list, error);
  const chosen = () => field.value.split(",").map((id) => id.trim()).filter(Boolean);

  function option(item) {
    const input = h("input", { type: multiple ? "checkbox" : "radio", name, value: item.id, checked: chosen().includes(item.id) });
    input.addEventListener("change", () => {
      const others = chosen().filter((id) => id !== item.id);
      field.value = (multiple ? (input.checked ? [...others, item.id] : others) : [item.id]).join(",");
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
    return h("label", { class: "pick" }, input,
      h("span", { class: "mini-thumb", "aria-hidden": "true" }, thumbnail(item)),
      h("span", { class: "media-name" }, item.original_name || item.id));
  }

  let loaded = null;
  async function load() {
    try {
      const page = await get("/bucket/upload", { type: op.reads, origin: "upload", limit: LISTED });
      const items = page.items.filter((item) => !soundOnly(item));
      list.replaceChildren(...(items.length ? items.map(option)
        : [h("p", { class: "facts" }, `No ${op.reads}s in the library yet: upload one on the `, h("a", { href: "#/library" }, "Library"), " page.")]));
    } catch (failure) { list.replaceChildren(); showError(error, failure); loaded = null; }
  }
  field.addEventListener("input", () => {
    for (const input of list.querySelectorAll("input")) input.checked = chosen().includes(input.value);
  });
  return {
    element,
    // Read when first shown: an editor that is only looked at lists nothing.
    show() { loaded ??= load(); return loaded; },
  };
}
