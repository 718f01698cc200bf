// Crop by dragging a box over the picture. The box is kept in the picture's own pixels; the
// numbers follow the drag, and typing the numbers moves the box.
import { h } from "./dom.js";

export function cropBox(image, onChange) {
  const box = h("div", { class: "crop-box" }, h("span", { class: "crop-handle", "aria-hidden": "true" }));
  const layer = h("div", { class: "crop-layer", hidden: true }, box);
  let rect = null; // {x, y, width, height} in picture pixels
  const scale = () => image.naturalWidth / image.getBoundingClientRect().width || 1;

  function draw() {
    box.hidden = !rect;
    if (!rect) return;
    const s = scale();
    Object.assign(box.style, {
      left: `${rect.x / s}px`, top: `${rect.y / s}px`,
      width: `${rect.width / s}px`, height: `${rect.height / s}px`,
    });
  }

  function point(event) {
    const bounds = image.getBoundingClientRect();
    const s = scale();
    return {
      x: Math.round(Math.min(Math.max(event.clientX - bounds.left, 0), bounds.width) * s),
      y: Math.round(Math.min(Math.max(event.clientY - bounds.top, 0), bounds.height) * s),
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
    const W = image.naturalWidth; const H = image.naturalHeight;
    if (drag.mode === "draw") {
      rect = { x: Math.min(from.x, at.x), y: Math.min(from.y, at.y), width: Math.abs(at.x - from.x), height: Math.abs(at.y - from.y) };
    } else if (drag.mode === "move") {
      const x = Math.min(Math.max(start.x + at.x - from.x, 0), W - start.width);
      const y = Math.min(Math.max(start.y + at.y - from.y, 0), H - start.height);
      rect = { ...start, x, y };
    } else {
      rect = { ...start, width: Math.max(1, at.x - start.x), height: Math.max(1, at.y - start.y) };
    }
    draw();
    if (rect.width >= 1 && rect.height >= 1) onChange(rect);
  });
  const end = () => { drag = null; };
  layer.addEventListener("pointerup", end);
  layer.addEventListener("pointercancel", end);
  window.addEventListener("resize", draw);

  return {
    layer,
    show(on) { layer.hidden = !on; draw(); },
    set(text) {
      const parts = text.split(",").map(Number);
      if (parts.length === 4 && parts.every((n) => Number.isFinite(n) && n >= 0)) {
        rect = { x: parts[0], y: parts[1], width: parts[2], height: parts[3] };
        draw();
      }
    },
    dispose() { window.removeEventListener("resize", draw); },
  };
}
