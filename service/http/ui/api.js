// The public HTTP API, as the UI uses it. Every refusal becomes an ApiError carrying the
// API's own words (`detail`), to be shown where it happened.
import { lead } from "./leader.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.detail ? String(body.detail) : `the service answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Array.isArray(params) ? params : Object.entries(params || {})) {
    if (value !== undefined && value !== null) search.append(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function request(method, path, { params, json, body } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path + query(params), init);
  } catch (error) {
    throw new ApiError(0, { detail: `editroom did not answer (${error.message}); try again` });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, params) => request("GET", path, { params });

// An upload with real progress: fetch cannot report upload progress, XMLHttpRequest can.
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/bucket/upload${query({ filename: file.name })}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 200 || xhr.status === 201) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { detail: "the upload was interrupted; try again" })));
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.send(file);
  });
}

// One Server-Sent Events stream of many edits (GET /events), and of the library's changes
// (`onMedia`: a media ready, as GET /bucket/upload/{id} answers; `onMediaDeleted`: its id).
// `onOpen` runs on every (re)connection and on `reset`: the page reads its state again, so
// nothing is missed. A connection counts as open at its first `stats`, which the service sends
// once it is watching (the browser's own `open` comes with the headers, before: a change
// between the two would be neither read nor told). The browser reconnects by itself after a network error, but not
// after an answer other than 200 (a 503 while the database restarts): the stream is then
// opened again here, a little later.
const REOPEN_MILLISECONDS = 5000;
export function live(params, { onEdit, onMedia, onMediaDeleted, onStats, onOpen, onState } = {}) {
  let source = null;
  let reopening = null;
  let watching = false; // this connection's first stats came
  function open() {
    source = new EventSource(`/events${query(params)}`);
    source.addEventListener("open", () => { watching = false; onState?.(true); });
    source.addEventListener("error", () => {
      onState?.(false);
      if (source.readyState === EventSource.CLOSED) reopening = setTimeout(open, REOPEN_MILLISECONDS);
    });
    source.addEventListener("reset", () => onOpen?.());
    source.addEventListener("edit", (event) => onEdit?.(JSON.parse(event.data)));
    source.addEventListener("media", (event) => onMedia?.(JSON.parse(event.data)));
    source.addEventListener("media-deleted", (event) => onMediaDeleted?.(JSON.parse(event.data)));
    source.addEventListener("stats", (event) => {
      onStats?.(JSON.parse(event.data));
      if (!watching) { watching = true; onOpen?.(); }
    });
  }
  open();
  return () => { clearTimeout(reopening); source.close(); };
}

// One stream for every tab of this browser, since a browser opens at most six connections to a
// host over HTTP/1.1 and a stream holds one for good: the tab that leads (leader.js: by a Web
// Lock, or elected where there are none) opens it and tells the others over a BroadcastChannel
// (an `open` tells every tab to read its state again); when that tab closes, another leads and
// opens its own. A tab that starts asks the leader for the counts it last told. The name
// carries the messages' version: a tab still running an older UI after a deploy leads, or
// follows, only tabs that speak as it does.
const CHANNEL = "editroom-events/2";
export function liveInEveryTab(handlers) {
  if (typeof BroadcastChannel === "undefined") return live({}, handlers);
  const channel = new BroadcastChannel(CHANNEL);
  const last = {}; // what this tab last told, while it leads: handler's name → data
  let closeStream = null; // while this tab leads
  // What the stream tells, by the handler's name (onEdit, ...), here and in every other tab.
  const tell = (kind, data) => {
    if (kind === "onStats" || kind === "onState") last[kind] = data;
    handlers[kind]?.(data);
    channel.postMessage({ kind, data });
  };
  channel.addEventListener("message", ({ data: { kind, data } }) => {
    if (kind !== "hello") { handlers[kind]?.(data); return; }
    if (!closeStream) return;
    for (const [told, value] of Object.entries(last)) channel.postMessage({ kind: told, data: value });
  });
  lead(CHANNEL, {
    start: () => {
      const telling = Object.fromEntries(Object.keys(handlers).map((kind) => [kind, (data) => tell(kind, data)]));
      closeStream = live({}, telling);
    },
    stop: () => { closeStream?.(); closeStream = null; },
  });
  channel.postMessage({ kind: "hello" });
  return null;
}

let catalogue = null;
export function operations() {
  catalogue ??= get("/operations").catch((error) => { catalogue = null; throw error; });
  return catalogue;
}
