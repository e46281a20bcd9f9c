// Tix box office: a show's tickets for a party at the counter (F3), beside app.js (whose helpers
// and `state` it uses). The shows of today and later: ↑↓ choose, Enter open. In a show: ↑↓ choose
// the category, type how many, Enter holds the best seats together; or M for the seat map, where
// the arrows move, Space picks or drops a seat and Enter holds the picked ones. The held order is
// then the counter's sale as any other: F8 cash, F9 card, one pass per ticket, Ctrl+P prints all.
"use strict";

const shows = {
  list: [],          // the shows listed
  selected: -1,
  show: null,        // the show open
  category: 0,       // index into show.categories
  rows: [],          // the seat map's rows, front to back: {section, name, seats: [seat]}
  seats: new Map(),  // ticket id -> seat: {id, name, x, y, category, state, wheelchair, row, index, button}
  cursor: null,      // the seat the arrows are on
  picked: new Map(), // ticket id -> seat, in the order picked
  seq: 0,
};

// Seat-map units in rem: a seat is drawn 1.8rem wide, one unit apart.
const SEAT_UNIT = 2.2;

// A show not selling, in words (on sale but outside its sale dates: not yet, or no longer).
const STATUS_WORDS = { "on-sale": "not on sale now", "sales-stopped": "sales stopped", cancelled: "cancelled", draft: "draft" };

function startOfToday() {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  return day.toISOString();
}

function showWhen(show) {
  const when = show.startsAt ? new Date(show.startsAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
  return [when, show.hall].filter(Boolean).join(" · ");
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// ---- the list of shows ----

async function openShows() {
  showView("list");
  say("show-error", null);
  $("shows-list").focus();
  await loadShows();
}

function showView(view) {
  $("shows-list-view").hidden = view !== "list";
  $("show-view").hidden = view === "list";
  $("show-best").hidden = view !== "best";
  $("show-map").hidden = view !== "map";
}

function currentView() {
  if ($("show-view").hidden) return "list";
  return $("show-map").hidden ? "best" : "map";
}

async function loadShows() {
  const seq = ++shows.seq;
  try {
    const list = await invoke("shows", { from: startOfToday() });
    if (seq !== shows.seq) return;
    const kept = shows.list[shows.selected] && shows.list[shows.selected].id;
    shows.list = list;
    const again = list.findIndex((show) => show.id === kept);
    shows.selected = again >= 0 ? again : list.length ? 0 : -1;
    if (shows.show) shows.show = list.find((show) => show.id === shows.show.id) || shows.show;
    drawShows();
  } catch (error) {
    if (!handled(error)) say("show-error", error);
  }
}

function drawShows() {
  const list = $("shows-list");
  list.replaceChildren(...shows.list.map((show, index) => {
    const left = show.categories.reduce((sum, c) => sum + c.available, 0);
    const prices = show.categories.map((c) => Number(c.price));
    const from = prices.length ? `from ${money(Math.min(...prices))}` : "";
    const sale = show.selling ? `${left} left` : STATUS_WORDS[show.status] || show.status;
    return el("li", {
      role: "option", id: `show-${show.id}`, class: "show", dataset: { id: show.id },
      "aria-selected": String(index === shows.selected),
      onclick: () => { shows.selected = index; openShow(); },
    }, el("span", {}, el("strong", {}, show.title), el("span", { class: "meta" }, ` ${showWhen(show)}`)),
       el("span", { class: show.selling ? "" : "quiet" }, [sale, from].filter(Boolean).join(" · ")));
  }));
  $("shows-empty").hidden = shows.list.length > 0;
  list.hidden = !shows.list.length;
  const current = list.querySelector('[aria-selected="true"]');
  if (current) {
    list.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  } else {
    list.removeAttribute("aria-activedescendant");
  }
}

function listKey(event) {
  const last = shows.list.length - 1;
  const moves = { ArrowDown: shows.selected + 1, ArrowUp: shows.selected - 1, Home: 0, End: last };
  if (event.key in moves) {
    event.preventDefault();
    if (last < 0) return;
    shows.selected = Math.max(0, Math.min(last, moves[event.key]));
    drawShows();
  } else if (event.key === "Enter") {
    event.preventDefault();
    openShow();
  }
}

// ---- a show: best available ----

function openShow() {
  const show = shows.list[shows.selected];
  if (!show) return;
  shows.show = show;
  const open = show.categories.findIndex((c) => c.available > 0);
  shows.category = open >= 0 ? open : 0;
  say("show-error", null);
  drawShow();
  showBest();
}

function showBest() {
  showView("best");
  $("show-quantity").focus();
  $("show-quantity").select();
}

function drawShow() {
  const show = shows.show;
  $("show-title").textContent = show.title;
  $("show-when").textContent = [showWhen(show), show.selling ? "" : STATUS_WORDS[show.status] || show.status].filter(Boolean).join(" · ");
  $("show-max").textContent = `At most ${show.maxPerOrder} per order.`;
  drawCategories();
}

function drawCategories() {
  const list = $("show-categories");
  list.replaceChildren(...shows.show.categories.map((category, index) => el("li", {
    role: "option", id: `category-${index}`, class: `category cat-${index % 6}`,
    "aria-selected": String(index === shows.category),
    onclick: () => { shows.category = index; drawCategories(); $("show-quantity").focus(); },
  }, el("strong", {}, category.name), el("span", {}, `${money(category.price)} · ${category.available} left`))));
}

// A sale already held at the counter is paid or released before the next party's.
function counterBusy() {
  if (state.order && state.order.status !== "complete") {
    say("show-error", { message: "Finish or release the sale at the counter first (F2)." });
    return true;
  }
  return false;
}

async function orderBest() {
  if (counterBusy()) return;
  const category = shows.show.categories[shows.category];
  const field = $("show-quantity");
  const quantity = Number(field.value.trim());
  if (!category || !Number.isInteger(quantity) || quantity < 1) {
    field.setAttribute("aria-invalid", "true");
    say("show-error", { message: "Type how many tickets: a whole number, 1 or more." });
    return;
  }
  field.removeAttribute("aria-invalid");
  await hold(invoke("order_best", { showId: shows.show.id, category: category.name, quantity }));
}

// The party's order held: it becomes the counter's sale; refused, the show's figures are read again.
async function hold(placing) {
  say("show-error", null);
  try {
    const order = await placing;
    state.order = order;
    openTab("sell");
    drawSale();
    $("pay-cash").focus();
  } catch (error) {
    if (handled(error)) return;
    say("show-error", error);
    await loadShows();
    if (currentView() === "best") drawShow();
    if (currentView() === "map") await loadMap(false);
  }
}

function bestKey(event) {
  const key = event.key;
  const onButton = document.activeElement instanceof HTMLButtonElement;
  if (key === "ArrowDown" || key === "ArrowUp") {
    event.preventDefault();
    const last = shows.show.categories.length - 1;
    shows.category = Math.max(0, Math.min(last, shows.category + (key === "ArrowDown" ? 1 : -1)));
    drawCategories();
  } else if (key === "Enter" && !onButton) {
    event.preventDefault();
    orderBest();
  } else if (key === "Escape") {
    event.preventDefault();
    showView("list");
    $("shows-list").focus();
  } else if ((key === "m" || key === "M") && !event.ctrlKey && !event.altKey && !event.metaKey) {
    event.preventDefault();
    openMap();
  }
}

// ---- a show: the seat map ----

async function openMap() {
  say("show-error", null);
  shows.picked = new Map();
  shows.cursor = null;
  if (await loadMap(true)) {
    showView("map");
    focusCursor();
  }
}

// Reads the seat map; the first time (`fresh`) it is drawn anew, later only the seats' states
// change (the seat in focus stays in focus). False when the show has no seats to pick.
async function loadMap(fresh) {
  let answer;
  try {
    answer = await invoke("show_seats", { showId: shows.show.id });
  } catch (error) {
    if (!handled(error)) say("show-error", error);
    return false;
  }
  if (fresh) {
    readMap(answer);
    if (!shows.rows.length) {
      say("show-error", { message: "This show has no numbered seats: sell it by best available." });
      return false;
    }
    drawMap();
  } else {
    updateMap(answer);
  }
  drawPicked();
  return true;
}

function readMap(answer) {
  shows.rows = [];
  shows.seats = new Map();
  for (const section of answer.sections || []) {
    for (const row of section.rows) {
      const line = { section: section.name, name: row.name, seats: [] };
      for (const [id, name, x, y, category, seatState, flags] of row.seats) {
        const seat = {
          id, name, x, y, category, state: seatState, row: line, index: line.seats.length,
          wheelchair: Array.isArray(flags) && flags.includes("wheelchair"),
        };
        line.seats.push(seat);
        shows.seats.set(id, seat);
      }
      if (line.seats.length) shows.rows.push(line);
    }
  }
  const first = shows.rows.flatMap((row) => row.seats).find((seat) => seat.state === "a");
  shows.cursor = first || (shows.rows[0] && shows.rows[0].seats[0]) || null;
}

function seatLabel(seat) {
  return `${seat.row.section} row ${seat.row.name} seat ${seat.name}`;
}

function seatDescription(seat) {
  const category = shows.show.categories[seat.category];
  const parts = [seatLabel(seat)];
  if (seat.wheelchair) parts.push("wheelchair space");
  if (category) parts.push(`${category.name} ${money(category.price)}`);
  if (seat.state !== "a") parts.push(seat.state === "s" ? "sold" : "held");
  return parts.join(", ");
}

function drawMap() {
  const sections = new Map();
  for (const row of shows.rows) {
    if (!sections.has(row.section)) sections.set(row.section, []);
    sections.get(row.section).push(row);
  }
  $("seat-map").replaceChildren(...[...sections].map(([name, rows], index) => drawSection(name, rows, index)));
}

function drawSection(name, rows, index) {
  const seats = rows.flatMap((row) => row.seats);
  const minX = Math.min(...seats.map((s) => s.x));
  const minY = Math.min(...seats.map((s) => s.y));
  const maxX = Math.max(...seats.map((s) => s.x));
  const maxY = Math.max(...seats.map((s) => s.y));
  const block = el("div", { class: "seat-block" });
  // Sizes and places through the CSSOM: the window's CSP allows no inline style attributes.
  block.style.width = `${(maxX - minX + 1) * SEAT_UNIT}rem`;
  block.style.height = `${(maxY - minY + 1) * SEAT_UNIT}rem`;
  for (const row of rows) {
    const label = el("span", { class: "row-label", "aria-hidden": "true" }, row.name);
    label.style.top = `${(row.seats[0].y - minY) * SEAT_UNIT}rem`;
    block.append(label);
    for (const seat of row.seats) {
      seat.button = el("button", {
        type: "button", class: "seat", tabindex: "-1", dataset: { id: seat.id },
        onclick: () => { shows.cursor = seat; toggleSeat(seat); },
        onfocus: () => { shows.cursor = seat; },
      }, seat.wheelchair ? "♿" : seat.name);
      seat.button.style.left = `${(seat.x - minX) * SEAT_UNIT}rem`;
      seat.button.style.top = `${(seat.y - minY) * SEAT_UNIT}rem`;
      drawSeat(seat);
      block.append(seat.button);
    }
  }
  const heading = el("h3", { id: `seat-section-${index}` }, name);
  return el("div", { class: "seat-section", role: "group", "aria-labelledby": heading.id }, heading, block);
}

function drawSeat(seat) {
  const button = seat.button;
  if (!button) return;
  const picked = shows.picked.has(seat.id);
  button.className = `seat cat-${seat.category % 6}${seat.state === "a" ? "" : " taken"}${picked ? " picked" : ""}${seat.wheelchair ? " wheelchair" : ""}`;
  button.setAttribute("aria-pressed", String(picked));
  button.setAttribute("aria-label", seatDescription(seat));
  if (seat.state === "a") button.removeAttribute("aria-disabled");
  else button.setAttribute("aria-disabled", "true");
  button.tabIndex = seat === shows.cursor ? 0 : -1;
}

// New states from the node: seats taken since are dropped from the party's pick, saying which.
function updateMap(answer) {
  const lost = [];
  for (const section of answer.sections || []) {
    for (const row of section.rows) {
      for (const [id, , , , , seatState] of row.seats) {
        const seat = shows.seats.get(id);
        if (!seat || seat.state === seatState) continue;
        seat.state = seatState;
        if (seatState !== "a" && shows.picked.delete(id)) lost.push(seatLabel(seat));
        drawSeat(seat);
      }
    }
  }
  if (lost.length) say("show-error", { message: `Taken by someone else meanwhile: ${lost.join(", ")}.` });
}

function toggleSeat(seat) {
  say("show-error", null);
  if (shows.picked.has(seat.id)) {
    shows.picked.delete(seat.id);
  } else if (seat.state !== "a") {
    say("show-error", { message: `${seatLabel(seat)} is ${seat.state === "s" ? "sold" : "held"}.` });
  } else if (shows.picked.size >= shows.show.maxPerOrder) {
    say("show-error", { message: `At most ${shows.show.maxPerOrder} tickets per order.` });
  } else {
    shows.picked.set(seat.id, seat);
  }
  for (const other of shows.seats.values()) if (other.button) other.button.tabIndex = other === shows.cursor ? 0 : -1;
  drawSeat(seat);
  drawPicked();
}

function drawPicked() {
  const picked = [...shows.picked.values()];
  const total = picked.reduce((sum, seat) => sum + Number((shows.show.categories[seat.category] || {}).price || 0), 0);
  $("seat-picked").textContent = picked.length
    ? `${plural(picked.length, "seat")} picked: ${picked.map(seatLabel).join(", ")}. Total ${money(total)}.`
    : "No seats picked yet.";
}

function focusCursor() {
  const seat = shows.cursor;
  if (!seat || !seat.button) return;
  for (const other of shows.seats.values()) if (other.button) other.button.tabIndex = -1;
  seat.button.tabIndex = 0;
  seat.button.focus();
}

// The seat the arrow leads to: the next one along the row, or the nearest one in the row in
// front (↑) or behind (↓).
function seatToward(seat, key) {
  const row = seat.row;
  if (key === "ArrowLeft") return row.seats[seat.index - 1] || seat;
  if (key === "ArrowRight") return row.seats[seat.index + 1] || seat;
  const next = shows.rows[shows.rows.indexOf(row) + (key === "ArrowDown" ? 1 : -1)];
  if (!next) return seat;
  return next.seats.reduce((best, other) => (Math.abs(other.x - seat.x) < Math.abs(best.x - seat.x) ? other : best));
}

async function holdSeats() {
  if (counterBusy()) return;
  if (!shows.picked.size) {
    say("show-error", { message: "Pick seats first: Space on a seat, or click it." });
    return;
  }
  await hold(invoke("order_seats", { showId: shows.show.id, seats: [...shows.picked.keys()] }));
}

function mapKey(event) {
  const key = event.key;
  if (key.startsWith("Arrow")) {
    event.preventDefault();
    if (!shows.cursor) return;
    shows.cursor = seatToward(shows.cursor, key);
    focusCursor();
  } else if (key === " " && document.activeElement && document.activeElement.classList.contains("seat")) {
    // Handled here, not by the button's own activation on key-up: one press, one toggle.
    event.preventDefault();
    if (shows.cursor) toggleSeat(shows.cursor);
  } else if (key === "Enter" && !(document.activeElement instanceof HTMLButtonElement && !document.activeElement.classList.contains("seat"))) {
    event.preventDefault();
    holdSeats();
  } else if (key === "Escape" || ((key === "m" || key === "M") && !event.ctrlKey && !event.altKey && !event.metaKey)) {
    event.preventDefault();
    showBest();
  }
}

// ---- keys and buttons ----

// Keys of the Shows tab, after app.js has taken the function keys.
function showsKey(event) {
  ({ list: listKey, best: bestKey, map: mapKey })[currentView()](event);
}

$("show-best-button").addEventListener("click", orderBest);
$("show-map-button").addEventListener("click", openMap);
$("show-back").addEventListener("click", () => { showView("list"); $("shows-list").focus(); });
$("seat-hold").addEventListener("click", holdSeats);
$("seat-back").addEventListener("click", showBest);

// While the map is open, seats others take or release are shown within a few seconds.
setInterval(() => {
  if (state.tab === "shows" && currentView() === "map" && !$("screen-counter").hidden) loadMap(false);
}, 4000);
