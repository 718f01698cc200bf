// Colour as sliders and switches, previewed at once with CSS filters on the picture, then
// applied as one `color=` operation.
import { h, uid } from "./dom.js";

const FACTORS = [["brightness", "brightness"], ["contrast", "contrast"], ["saturation", "saturate"]];
const FILTERS = [["grayscale", "grayscale(1)"], ["sepia", "sepia(1)"], ["invert", "invert(1)"]];

// `op`: color in GET /operations, whose factor's bounds are the sliders' ends.
export function colourControls(picture, op) {
  const factor = op.parameters[0].items.find((item) => item.name === "factor");
  const inputs = {};
  const rows = FACTORS.map(([name]) => {
    const id = uid(name);
    const output = h("output", { for: id }, "1.00");
    inputs[name] = h("input", { id, type: "range", min: factor.minimum ?? 0, max: factor.maximum ?? 2, step: 0.05, value: 1, oninput: (e) => { output.textContent = Number(e.target.value).toFixed(2); } });
    return h("div", { class: "field slider" }, h("label", { for: id }, name), inputs[name], output);
  });
  const switches = FILTERS.map(([name]) => {
    const id = uid(name);
    inputs[name] = h("input", { id, type: "checkbox" });
    return h("span", { class: "check" }, inputs[name], h("label", { for: id }, name));
  });
  const element = h("div", { class: "colour" }, rows, h("div", { class: "switches" }, switches));

  function value() {
    const steps = FACTORS.filter(([name]) => Number(inputs[name].value) !== 1).map(([name]) => `${name}:${Number(inputs[name].value)}`);
    return [...steps, ...FILTERS.filter(([name]) => inputs[name].checked).map(([name]) => name)].join(",");
  }
  function preview() {
    const image = picture();
    if (!image) return;
    image.style.filter = [
      ...FACTORS.map(([name, css]) => `${css}(${inputs[name].value})`),
      ...FILTERS.filter(([name]) => inputs[name].checked).map(([, css]) => css),
    ].join(" ");
  }
  element.addEventListener("input", preview);
  return {
    element,
    bind(form) {
      const sync = () => { form.dataset.value = value(); };
      element.addEventListener("input", sync);
      sync();
    },
    // A new head has the last colour change in its pixels: start again from neutral.
    reset() {
      for (const [name] of FACTORS) inputs[name].value = 1;
      for (const [name] of FILTERS) inputs[name].checked = false;
      for (const input of Object.values(inputs)) input.dispatchEvent(new Event("input", { bubbles: true }));
    },
  };
}
