// Tix box office: door mode (F10), beside app.js (whose helpers and `state` it uses). Choose the
// show (today's first; ↑↓) and name the gate, Enter opens the door; then a USB scanner types each
// pass's code and its Enter into the focused field. The verdict is shown big, green for admitted
// and red for anything else, with a short beep (high or low), and the field is cleared at once.
// When the node does not answer, the app decides on this computer (the window says OFFLINE and
// how many admissions wait to be sent) and sends them when the node is back; conflicts the node
// reports are listed below. Esc closes the door (to choose another show).
"use strict";

const door = {
  shows: [],         // the shows to choose from
  selected: -1,
  status: null,      // the last DoorStatus from the app
  seq: 0,            // scans started
  shown: 0,          // the scan whose verdict is on screen
  verdict: null,     // that verdict
  lastScanMs: null,  // Enter pressed -> verdict drawn, for the benchmark
  lastBeep: null,    // "high" or "low", for the tests (there is no ear under Xvfb)
  audio: null,
  ticking: false,
};

const RESULT_WORDS = {
  admitted: "ADMITTED",
  "already-admitted": "ALREADY ADMITTED",
  refunded: "REFUNDED",
  "wrong-show": "WRONG SHOW",
  "not-valid-now": "NOT VALID NOW",
  forged: "NOT A VALID PASS",
};

// `HH:MM:SS UTC` of an ISO time, as the node says it.
function clockTime(iso) {
  return iso ? `${iso.slice(11, 19)} UTC` : "";
}

function isToday(iso) {
  if (!iso) return false;
  const when = new Date(iso);
  const now = new Date();
  return when.getFullYear() === now.getFullYear() && when.getMonth() === now.getMonth() && when.getDate() === now.getDate();
}

// ---- choosing the show and the gate ----

function doorView(view) {
  $("door-setup").hidden = view !== "setup";
  $("door-scan").hidden = view !== "scan";
}

async function openDoor() {
  say("door-error", null);
  if (door.status && door.status.show) {
    doorView("scan");
    drawDoorStatus(door.status);
    $("door-code").focus();
    return;
  }
  doorView("setup");
  $("door-gate").focus();
  await loadDoorShows();
}

async function loadDoorShows() {
  try {
    const answer = await invoke("door_shows", { from: startOfToday() });
    door.shows = answer.shows;
    door.selected = door.shows.length ? 0 : -1;
    if (answer.gate && !$("door-gate").value) $("door-gate").value = answer.gate;
    $("door-saved-note").hidden = !answer.offline;
    door.status = answer.status;
    drawDoorShows();
  } catch (error) {
    if (!handled(error)) say("door-error", error);
  }
}

function drawDoorShows() {
  const list = $("door-shows");
  list.replaceChildren(...door.shows.map((show, index) => el("li", {
    role: "option", id: `door-show-${show.id}`, class: "show", dataset: { id: show.id },
    "aria-selected": String(index === door.selected),
    onclick: () => { door.selected = index; drawDoorShows(); $("door-gate").focus(); },
  }, el("span", {}, el("strong", {}, show.title), el("span", { class: "meta" }, ` ${showWhen(show)}`)),
     el("span", { class: "quiet" }, isToday(show.startsAt) ? "Today" : ""))));
  $("door-shows-empty").hidden = door.shows.length > 0;
  list.hidden = !door.shows.length;
  const current = list.querySelector('[aria-selected="true"]');
  if (current) {
    list.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  } else {
    list.removeAttribute("aria-activedescendant");
  }
}

async function openDoorForShow() {
  const show = door.shows[door.selected];
  const gate = $("door-gate").value.trim();
  if (!show) { say("door-error", { message: "Choose a show first (↑↓)." }); return; }
  if (!gate) {
    $("door-gate").setAttribute("aria-invalid", "true");
    say("door-error", { message: "Name the gate this computer scans at, e.g. North." });
    $("door-gate").focus();
    return;
  }
  $("door-gate").removeAttribute("aria-invalid");
  say("door-error", null);
  $("door-open").disabled = true;
  try {
    const status = await invoke("door_open", { showId: show.id, gate });
    door.verdict = null;
    drawVerdict(null);
    doorView("scan");
    drawDoorStatus(status);
    $("door-code").value = "";
    $("door-code").focus();
  } catch (error) {
    if (!handled(error)) say("door-error", error);
  } finally {
    $("door-open").disabled = false;
  }
}

$("door-form").addEventListener("submit", (event) => { event.preventDefault(); openDoorForShow(); });

async function closeDoor() {
  try {
    door.status = await invoke("door_close");
  } catch (error) {
    if (handled(error)) return;
  }
  await openDoor();
}
$("door-change").addEventListener("click", closeDoor);

// ---- scanning ----

async function scan() {
  const field = $("door-code");
  const code = field.value;
  field.value = ""; // ready for the next pass at once
  if (!code.trim()) return;
  const seq = ++door.seq;
  const started = performance.now();
  let verdict;
  try {
    const answer = await invoke("door_scan", { code });
    verdict = answer.verdict;
    if (seq >= door.shown) drawDoorStatus(answer.status);
  } catch (error) {
    if (handled(error)) return;
    verdict = { result: "error", message: error.message || String(error) };
  }
  if (seq < door.shown) return; // a later scan is on screen already
  door.shown = seq;
  drawVerdict(verdict);
  door.lastScanMs = performance.now() - started;
  beep(verdict.result === "admitted");
  if (state.tab === "door" && !$("door-scan").hidden) field.focus();
}

function drawVerdict(verdict) {
  door.verdict = verdict;
  const box = $("door-verdict");
  box.hidden = !verdict;
  if (!verdict) return;
  const ok = verdict.result === "admitted";
  box.className = `verdict ${ok ? "ok" : "bad"}`;
  box.dataset.result = verdict.result;
  box.dataset.seq = String(door.shown);
  const words = RESULT_WORDS[verdict.result] || "NOT ADMITTED";
  $("door-result").textContent = verdict.local ? `${words} · decided offline` : words;
  $("door-message").textContent = verdict.message || "";
  $("door-seat").textContent = verdict.seat || "";
  $("door-show").textContent = verdict.title || "";
}

// A short beep: high for admitted, low and longer for anything else.
function beep(ok) {
  door.lastBeep = ok ? "high" : "low";
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    door.audio = door.audio || new Context();
    const audio = door.audio;
    const length = ok ? 0.12 : 0.4;
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = ok ? "sine" : "square";
    tone.frequency.value = ok ? 1320 : 220;
    volume.gain.setValueAtTime(0.25, audio.currentTime);
    volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + length);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + length);
  } catch {
    // No sound device: the colour and the words still say it.
  }
}

// ---- the door's state: counts, offline, conflicts ----

function drawDoorStatus(status) {
  door.status = status;
  if (!status || !status.show) return;
  $("door-title").textContent = status.show.title;
  $("door-where").textContent = [showWhen(status.show), `Gate ${status.gate}`].filter(Boolean).join(" · ");
  $("door-counts").textContent = `${status.admitted} admitted / ${status.sold} sold`;
  const banner = $("door-offline");
  const waiting = `${plural(status.waiting, "admission")} waiting to be sent`;
  if (!status.online) {
    banner.textContent = `OFFLINE: the node cannot be reached. Passes are checked on this computer; ${waiting}.`;
  } else if (status.waiting) {
    banner.textContent = `Sending to the node: ${waiting}.`;
  }
  banner.hidden = status.online && !status.waiting;
  banner.dataset.waiting = String(status.waiting);
  const problems = [status.problem, ...status.rejected.map((r) => `A queued scan the node refused: ${r.message || r.status}`)];
  $("door-problem").textContent = problems.filter(Boolean).join(" ");
  drawConflicts(status);
}

function admissionText(admission) {
  if (!admission) return "–";
  return `Gate ${admission.gate}, ${clockTime(admission.at)}${admission.offline ? " (offline)" : ""}`;
}

function conflictRow(conflict) {
  const what = [conflict.title, conflict.seat].filter(Boolean).join(" · ");
  return el("tr", { dataset: { ticket: conflict.ticketId } },
    el("td", {}, what || "", " ", el("code", {}, conflict.ticketId)),
    el("td", {}, conflict.reason === "refunded" ? "Refunded" : "Admitted twice"),
    el("td", {}, admissionText(conflict.first)),
    el("td", {}, admissionText(conflict.second)));
}

function drawConflicts(status) {
  const mine = status.conflicts || [];
  const all = status.nodeConflicts || [];
  $("door-conflicts").hidden = !mine.length && !all.length;
  $("door-my-conflicts").replaceChildren(...mine.map(conflictRow));
  $("door-my-conflicts-empty").hidden = mine.length > 0;
  $("door-all-conflicts").replaceChildren(...all.map(conflictRow));
}

async function doorTick() {
  if (door.ticking || $("screen-counter").hidden || !state.info || !state.info.staff) return;
  const status = door.status;
  const wanted = status === null || !!status.show || status.waiting > 0;
  if (!wanted) return;
  door.ticking = true;
  try {
    const next = await invoke("door_tick");
    if (door.status && door.status.show) drawDoorStatus(next);
    else door.status = next;
  } catch (error) {
    handled(error);
  } finally {
    door.ticking = false;
  }
}
setInterval(doorTick, 3000);

// ---- keys ----

// Keys of the door tab, after app.js has taken the function keys.
function doorKey(event) {
  const key = event.key;
  if (!$("door-scan").hidden) {
    if (key === "Enter" && document.activeElement === $("door-code")) {
      event.preventDefault();
      scan();
    } else if (key === "Escape") {
      event.preventDefault();
      closeDoor();
    } else if (key.length === 1 && !(document.activeElement instanceof HTMLInputElement) && !event.ctrlKey && !event.altKey && !event.metaKey) {
      // A scanner types wherever the focus is: the code goes to the field.
      $("door-code").focus();
    }
    return;
  }
  const last = door.shows.length - 1;
  const moves = { ArrowDown: door.selected + 1, ArrowUp: door.selected - 1 };
  if (key in moves) {
    event.preventDefault();
    if (last < 0) return;
    door.selected = Math.max(0, Math.min(last, moves[key]));
    drawDoorShows();
  } else if (key === "Enter" && document.activeElement === $("door-shows")) {
    event.preventDefault();
    openDoorForShow();
  }
}
