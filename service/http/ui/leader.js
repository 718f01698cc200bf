// Which one of this browser's tabs leads (holds the one event stream, api.js): `start` runs in
// the tab that becomes the leader, `stop` in one that is no longer it.
//
// With Web Locks, the tab holding the lock `name` leads, until it closes; the browser then
// gives the lock to another. Web Locks exist only in secure contexts (https, or loopback): a
// page served over plain http from another host has none, and there the tabs elect a leader
// over a BroadcastChannel, which every context has (elect, below).
export function lead(name, { start, stop }) {
  if (navigator.locks) {
    navigator.locks.request(name, () => {
      start();
      return new Promise(() => {}); // held while this tab lives
    });
  } else {
    elect(name, { start, stop });
  }
}

// An election over a BroadcastChannel, each message {kind, term, id}. The leader says so
// ("leader") every BEAT_MILLISECONDS and whenever asked ("ping"). A tab that has not heard a
// leader for SILENCE_MILLISECONDS asks; with no answer within ANSWER_MILLISECONDS it claims the
// next term ("claim"), and leads unless within CLAIM_MILLISECONDS it hears a claim or a leader
// that outranks it: a later term, or the same term and a smaller id (two claims at once: the
// smaller id wins, the other follows). A leader that hears one of a later term (it was
// silent, and another took over) stops and follows. A leader that closes says so ("resign"):
// the others claim at once instead of waiting out the silence.
//
// Asking before claiming is for hidden tabs: a browser runs their timers once a second, and
// after minutes hidden once a minute, so a hidden leader's beats may be a minute apart; but a
// message is handled at once, so a leader that lives answers the question, and keeps leading.
const BEAT_MILLISECONDS = 1000;
const SILENCE_MILLISECONDS = 3000;
const ANSWER_MILLISECONDS = 500;
const CLAIM_MILLISECONDS = 250;

function elect(name, { start, stop }) {
  const channel = new BroadcastChannel(`${name}-election`);
  const me = tabId();
  let term = 0; // the latest term heard of
  let role = "follower"; // or "candidate", "leader"
  let heardAt = -Infinity; // when a leader (or a claim) was last heard (performance.now)
  let asking = false;

  const say = (kind) => channel.postMessage({ kind, term, id: me });
  // A follower follows any leader or claim of a term at least its own; a candidate or a leader
  // only one of a later term, or of its own term and a smaller id.
  const outranks = (message) => message.term > term
    || (message.term === term && (role === "follower" || message.id < me));

  function follow(message) {
    if (role === "leader") stop();
    role = "follower";
    term = message.term;
    heardAt = performance.now();
  }
  function claim() {
    term += 1;
    role = "candidate";
    say("claim");
    const claimed = term;
    setTimeout(() => {
      if (role !== "candidate" || term !== claimed) return;
      role = "leader";
      say("leader");
      start();
    }, CLAIM_MILLISECONDS);
  }
  function ask() {
    if (asking) return;
    asking = true;
    const askedAt = performance.now();
    say("ping");
    setTimeout(() => {
      asking = false;
      if (role === "follower" && heardAt < askedAt) claim();
    }, ANSWER_MILLISECONDS);
  }

  channel.addEventListener("message", ({ data: message }) => {
    if (message.kind === "ping") {
      if (role === "leader") say("leader");
    } else if (message.kind === "resign") {
      if (role === "follower" && message.term === term) claim();
    } else if (outranks(message)) {
      follow(message);
    } else if (role === "leader") {
      say("leader"); // a claim or a leader it outranks: it hears who leads
    }
  });
  setInterval(() => {
    if (role === "leader") say("leader");
    else if (role === "follower" && performance.now() - heardAt > SILENCE_MILLISECONDS) ask();
  }, BEAT_MILLISECONDS);
  window.addEventListener("pagehide", () => {
    if (role !== "leader") return;
    say("resign");
    stop();
    role = "follower";
  });
  ask(); // a leader that lives answers at once; none does: this tab claims
}

// A tab's id in the election: random (crypto.randomUUID, like Web Locks, needs a secure context).
function tabId() {
  return Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16).padStart(8, "0")).join("");
}
