// A small form for one operation, generated from its entry in GET /operations.
import { h, uid } from "./dom.js";

export const GROUPS = ["geometry", "colour", "text", "format", "cut", "convert", "stills", "other"];

function control(param, id, hintId) {
  const common = { id, name: param.name, "aria-describedby": hintId };
  if (param.type === "flag") return h("input", { ...common, type: "checkbox" });
  if (param.type === "boolean" || param.type === "choice") {
    const choices = param.type === "boolean" ? ["true", "false"] : param.choices;
    const first = param.required ? [] : [h("option", { value: "" }, param.default == null ? "(not set)" : `default: ${param.default}`)];
    return h("select", common, first, choices.map((choice) => h("option", { value: choice }, choice)));
  }
  if (param.type === "place") {
    // Any place: the nine positions offered by name (offered), an x:y point typed.
    const shown = param.default == null ? "" : `default: ${param.default} `;
    return h("input", {
      ...common, type: "text", list: `${id}-offered`, placeholder: `${shown}(or x:y)`,
      required: param.required, autocomplete: "off", spellcheck: false,
    });
  }
  if (param.type === "integer" || param.type === "number") {
    return h("input", {
      ...common, type: "number", inputMode: param.type === "integer" ? "numeric" : "decimal",
      min: param.minimum ?? undefined, max: param.maximum ?? undefined,
      step: param.type === "integer" ? 1 : "any", placeholder: `e.g. ${param.example}`, required: param.required,
    });
  }
  return h("input", { ...common, type: "text", placeholder: param.example ? `e.g. ${param.example}` : "", required: param.required && param.type !== "flag", autocomplete: "off", spellcheck: false });
}

// The places a place parameter offers by name, for its input to suggest; null for any other.
function offered(param, id) {
  if (param.type !== "place") return null;
  return h("datalist", { id: `${id}-offered` }, param.choices.map((choice) => h("option", { value: choice })));
}

function read(input) {
  if (input.type === "checkbox") return input.checked ? "" : null;
  return input.value.trim() === "" ? null : input.value.trim();
}

// What a value does not fit, told next to its field before anything is sent; the field named
// as invalid until it is changed.
function fieldProblem(input, hintId) {
  const message = h("p", { id: `${input.id}-problem`, class: "field-problem", hidden: true });
  const show = (text) => {
    message.textContent = text || "";
    message.hidden = !text;
    input.setAttribute("aria-describedby", text ? `${message.id} ${hintId}` : hintId);
    if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  };
  input.addEventListener("input", () => show(null));
  return { message, show };
}

// `fields` lets a caller reach an input by parameter name (crop's box, trim's times); `checks`
// lets it add a check of a value by parameter name, a function answering what is wrong or null.
export function opForm(op, { onApply, extra = null }) {
  const fields = {};
  const checks = {};
  const problems = {};
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const rows = op.parameters.map((param) => {
    const id = uid(`${op.name}-${param.name}`);
    const hintId = `${id}-hint`;
    const input = control(param, id, hintId);
    fields[param.name] = input;
    problems[param.name] = fieldProblem(input, hintId);
    return h("div", { class: "field" },
      h("label", { for: id }, param.name === op.name ? op.name : param.name, param.required ? "" : h("span", { class: "optional" }, " (optional)")),
      input, offered(param, id), problems[param.name].message,
      h("small", { id: hintId, class: "hint" }, param.description));
  });
  // What a value's check finds wrong is told beside it (nothing when it passes).
  function check(name) {
    const problem = checks[name](fields[name].value.trim());
    problems[name].show(problem);
    return problem;
  }
  // The first value a check refuses is told and focused; true when every check passed.
  function checked() {
    const refused = Object.keys(checks).find(check);
    fields[refused]?.focus();
    return !refused;
  }
  const form = h("form", { class: "op-form", "aria-label": `${op.name} parameters` },
    extra, extra ? null : rows, error,
    h("button", { type: "submit", class: "primary" }, `Apply ${op.name}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checked()) return;
    const items = [];
    for (const param of op.parameters) {
      const value = extra && param.name === op.name ? form.dataset.value ?? null : read(fields[param.name]);
      if (param.name === op.name) items.push([param.name, value ?? ""]);
      else if (value !== null) items.push([param.name, value]);
    }
    error.hidden = true;
    try { await onApply(items); } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      error.scrollIntoView({ block: "nearest" }); // in view: Apply may have been pressed beside the picture
    }
  });
  return { form, fields, checks, check, error };
}

export function grouped(operations, kind) {
  const mine = operations.filter((op) => op.kind === kind && op.name !== "noop");
  return GROUPS.map((group) => [group, mine.filter((op) => (op.group || "other") === group)])
    .filter(([, ops]) => ops.length);
}
