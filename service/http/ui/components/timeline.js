// A video's timeline with in and out handles that snap to frames; the video seeks to a
// handle as it moves. Each handle is a slider: arrows move one frame, Shift+arrows a second.
import { h, seconds } from "./dom.js";

export function timeline(video, { duration, fps, onChange }) {
  const frame = 1 / (fps || 25);
  const snap = (t) => Math.min(Math.max(Math.round(t / frame) * frame, 0), duration);
  const marks = { in: 0, out: duration };
  const span = h("div", { class: "timeline-span" });
  const playhead = h("div", { class: "timeline-playhead" });
  const handle = (which, label) => h("div", {
    class: `timeline-handle handle-${which}`, role: "slider", tabindex: 0, "aria-label": label,
    "aria-valuemin": 0, "aria-valuemax": duration.toFixed(3),
  });
  const handles = { in: handle("in", "Trim start"), out: handle("out", "Trim end") };
  const track = h("div", { class: "timeline-track" }, span, playhead, handles.in, handles.out);
  // The times under the track: its start and end, and what the handles keep. Read from the
  // sliders' values by a screen reader, so not said twice.
  const kept = h("span", { class: "timeline-kept" });
  const times = h("p", { class: "timeline-times", "aria-hidden": "true" },
    h("span", {}, clock(0)), kept, h("span", {}, clock(duration)));

  function draw() {
    for (const which of ["in", "out"]) {
      handles[which].style.left = `${(marks[which] / duration) * 100}%`;
      handles[which].setAttribute("aria-valuenow", marks[which].toFixed(3));
      handles[which].setAttribute("aria-valuetext", `${marks[which].toFixed(2)} seconds`);
    }
    kept.textContent = `${clock(marks.in)} – ${clock(marks.out)} · ${(marks.out - marks.in).toFixed(2)} s kept`;
    span.style.left = `${(marks.in / duration) * 100}%`;
    span.style.width = `${((marks.out - marks.in) / duration) * 100}%`;
  }
  function move(which, t) {
    const value = snap(t);
    marks[which] = which === "in" ? Math.min(value, marks.out - frame) : Math.max(value, marks.in + frame);
    video.currentTime = marks[which];
    draw();
    onChange(marks.in, marks.out);
  }
  for (const which of ["in", "out"]) {
    const element = handles[which];
    element.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      element.setPointerCapture(event.pointerId);
      element.focus();
      const follow = (e) => {
        const bounds = track.getBoundingClientRect();
        move(which, ((e.clientX - bounds.left) / bounds.width) * duration);
      };
      const stop = () => { element.removeEventListener("pointermove", follow); element.removeEventListener("pointerup", stop); };
      element.addEventListener("pointermove", follow);
      element.addEventListener("pointerup", stop);
    });
    element.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 1 : frame;
      const keys = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step };
      if (event.key in keys) { event.preventDefault(); move(which, marks[which] + keys[event.key]); }
    });
  }
  video.addEventListener("timeupdate", () => { playhead.style.left = `${(video.currentTime / duration) * 100}%`; });
  draw();
  return {
    element: h("div", { class: "timeline" }, track, times,
      h("p", { class: "timeline-labels" }, "Drag the handles, or focus one and use the arrow keys (Shift: a second).")),
    set(text) {
      const [start, end] = text.split(",").map(Number);
      if (Number.isFinite(start)) marks.in = snap(start);
      if (Number.isFinite(end)) marks.out = snap(end);
      draw();
    },
  };
}

// A time as minutes, seconds and hundredths: 1:05.20.
const clock = (total) => seconds(total, 2);
