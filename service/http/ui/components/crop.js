// Crop by dragging a box over the picture. The picture may be shown larger or smaller than it
// is; the box and the numbers are always in its natural pixels (`size`, the media's width and
// height), converted to and from the displayed pixels under the pointer. The numbers follow
// the drag, and typing the numbers moves the box.
import { h } from "./dom.js";

export function cropBox(image, size, onChange) {
  const box = h("div", { class: "crop-box" }, h("span", { class: "crop-handle", "aria-hidden": "true" }));
  const layer = h("div", { class: "crop-layer", hidden: true }, box);
  let rect = null; // {x, y, width, height} in natural pixels
  const W = size.width || 1; const H = size.height || 1;
  function scale() { // natural pixels per displayed pixel, across and down
    const bounds = image.getBoundingClientRect();
    return { bounds, x: W / (bounds.width || W), y: H / (bounds.height || H) };
  }

  function draw() {
    box.hidden = !rect;
    if (!rect) return;
    const s = scale();
    Object.assign(box.style, {
      left: `${rect.x / s.x}px`, top: `${rect.y / s.y}px`,
      width: `${rect.width / s.x}px`, height: `${rect.height / s.y}px`,
    });
  }

  function point(event) {
    const { bounds, x, y } = scale();
    return {
      x: Math.min(Math.round(Math.max(event.clientX - bounds.left, 0) * x), W),
      y: Math.min(Math.round(Math.max(event.clientY - bounds.top, 0) * y), H),
    };
  }

  let drag = null;
  layer.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    layer.setPointerCapture(event.pointerId);
    const at = point(event);
    const mode = event.target.classList.contains("crop-handle") ? "resize"
      : event.target === box ? "move" : "draw";
    drag = { mode, from: at, start: rect ? { ...rect } : null };
  });
  layer.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const at = point(event);
    const { from, start } = drag;
    if (drag.mode === "draw") {
      rect = { x: Math.min(from.x, at.x), y: Math.min(from.y, at.y), width: Math.abs(at.x - from.x), height: Math.abs(at.y - from.y) };
    } else if (drag.mode === "move") {
      const x = Math.min(Math.max(start.x + at.x - from.x, 0), W - start.width);
      const y = Math.min(Math.max(start.y + at.y - from.y, 0), H - start.height);
      rect = { ...start, x, y };
    } else {
      rect = { ...start, width: Math.min(Math.max(1, at.x - start.x), W - start.x), height: Math.min(Math.max(1, at.y - start.y), H - start.y) };
    }
    draw();
    if (rect.width >= 1 && rect.height >= 1) onChange(rect);
  });
  const end = () => { drag = null; };
  layer.addEventListener("pointerup", end);
  layer.addEventListener("pointercancel", end);
  const resized = new ResizeObserver(draw); // the picture follows the column's width
  resized.observe(image);

  return {
    layer,
    show(on) { layer.hidden = !on; draw(); },
    set(text) {
      const parts = text.split(",").map(Number);
      if (parts.length === 4 && parts.every((n) => Number.isFinite(n) && n >= 0)) {
        rect = { x: parts[0], y: parts[1], width: parts[2], height: parts[3] };
      } else rect = null;
      draw();
    },
    dispose() { resized.disconnect(); },
  };
}

// What is wrong with a crop box as typed (`param`: crop in GET /operations, whose parts give
// each number's bounds), or whether it reaches past the picture's `size`; null when it fits.
export function boxProblem(text, param, size) {
  const values = text.split(",").map((value) => value.trim());
  const names = param.parts.map((part) => part.name);
  if (values.length !== names.length) return `Give ${names.join(", ")}: ${names.length} whole numbers, e.g. ${param.example}.`;
  for (const [index, part] of param.parts.entries()) {
    const number = values[index] === "" ? NaN : Number(values[index]);
    if (!Number.isInteger(number)) return `${part.name} is “${values[index]}”: give a whole number of pixels.`;
    if (part.minimum !== undefined && number < part.minimum) return `${part.name} is ${number}: it must be at least ${part.minimum}.`;
    if (part.maximum !== undefined && number > part.maximum) return `${part.name} is ${number}: it may be at most ${part.maximum}.`;
  }
  const [x, y, width, height] = values.map(Number);
  if (x + width > size.width || y + height > size.height) {
    return `The box reaches past the ${size.width}×${size.height} picture: keep x + width ≤ ${size.width} and y + height ≤ ${size.height}.`;
  }
  return null;
}
