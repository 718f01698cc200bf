// An operation's Apply, offered where its value was drawn: a crop box dragged on the picture,
// the trim handles moved on the timeline, land in a form that may be out of sight (at phone
// width the operations come after the steps, a screen or more below, and nothing said where
// to go next). It is offered only then, so at desktop width, the form beside the picture, the
// person sees one Apply. It submits the form: what is sent, checked and refused is the form's,
// the one place the value lives.
import { h } from "./dom.js";

// `form()`: the operation's form, as the operations panel holds it now; `where`: where this
// Apply is, said to a screen reader when it is offered ("under the picture").
export function applyHere(form, { name, where }) {
  const button = h("button", { type: "button", class: "primary", hidden: true }, `Apply ${name}`);
  const told = h("p", { class: "visually-hidden", "aria-live": "polite" });
  button.addEventListener("click", () => form()?.requestSubmit());
  return {
    element: h("div", { class: "apply-here" }, button, told),
    // A value drawn: Apply offered here while the form's own is out of view.
    offer() {
      const own = form()?.querySelector("button[type=submit]");
      if (!button.hidden || !own || inView(own)) return;
      button.hidden = false;
      told.textContent = `${name[0].toUpperCase()}${name.slice(1)} set: Apply ${name} is ${where}.`;
    },
    // What was drawn has been sent (or no longer shows): true when this Apply had the focus,
    // for the caller to hand it on.
    withdraw() {
      const hadFocus = document.activeElement === button;
      button.hidden = true;
      told.textContent = "";
      return hadFocus;
    },
  };
}

// Whether a person sees the element: in the window, not scrolled out of its panel, not covered.
function inView(element) {
  const box = element.getBoundingClientRect();
  if (!box.width || !box.height) return false;
  const seen = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return Boolean(seen && element.contains(seen));
}
