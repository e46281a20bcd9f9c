// Tix box office window: every action is a command of the app (Rust), which asks the node.
// Keyboard first: F2 find, Enter lock, F8 cash, F9 card, F4 release, Ctrl+P print,
// F3 shows (a party's tickets: shows.js), F5 locks, F6 customer orders, F7 today, F10 door mode
// (checking passes in at a gate: door.js).
"use strict";

const invoke = (cmd, args = {}) => window.__TAURI__.core.invoke(cmd, args);
const $ = (id) => document.getElementById(id);

const state = {
  info: null,        // what `connection` said
  status: null,      // the last `status`
  tickets: [],       // search results
  selected: -1,
  order: null,       // the order locked for the customer at the counter
  tab: "sell",
  skew: 0,           // node clock minus this computer's, from the locks list
  searchSeq: 0,
  resultsFor: null,  // the search text `tickets` answer
  searchError: null, // the message a failed search put under the sale, cleared by the next that works
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function money(amount) {
  const currency = (state.currency || "usd").toUpperCase();
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    return `${Number(amount).toFixed(2)} ${currency}`;
  }
}

function left(expiresAt) {
  const ms = Date.parse(expiresAt) - (Date.now() + state.skew);
  if (!(ms > 0)) return "expired";
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// What an order costs: a party's total for an order of a show, else its one ticket's price.
function orderTotal(order) {
  return order.show ? Number(order.total) : Number(order.ticket.price);
}

// An order's tickets in a few words: a party's count and seats, or the one ticket's title.
function orderLabel(order) {
  if (!order.show) return order.ticket.title;
  const seats = (order.tickets || []).map((t) => t.seat).filter(Boolean);
  const count = `${order.tickets.length} ticket${order.tickets.length === 1 ? "" : "s"}`;
  return `${order.ticket.title}: ${count}${seats.length ? ` (${seats.join(", ")})` : ""}`;
}

function say(id, error) {
  const target = $(id);
  target.textContent = error ? (error.message || String(error)) : "";
}

// Errors that mean "go back a screen" are handled here; the rest are shown where they happened.
function handled(error) {
  if (error && error.kind === "notSignedIn") { showSignIn("Your session ended; please sign in again."); return true; }
  if (error && error.kind === "notConnected") { show("connect"); return true; }
  return false;
}

function show(screen) {
  for (const name of ["connect", "signin", "counter"]) $(`screen-${name}`).hidden = name !== screen;
  $("sign-out").hidden = screen !== "counter";
  $("staff-email").textContent = screen === "counter" && state.info ? state.info.staff || "" : "";
  if (screen === "connect") $("node-address").focus();
  if (screen === "signin") $("email").focus();
  if (screen === "counter") {
    openTab("sell");
    refreshLocks(); // also learns the node's clock, for the countdowns
  }
}

function showSignIn(message) {
  const info = state.info || {};
  const standalone = info.connection && info.connection.mode === "standalone";
  $("signin-node").textContent = standalone ? "Standalone: this computer runs its own node." : `Node: ${info.url || ""}`;
  $("create-label").hidden = !standalone;
  say("signin-error", message ? { message } : null);
  show("signin");
}

async function start() {
  try {
    state.info = await invoke("connection");
  } catch (error) {
    say("connect-error", error);
    show("connect");
    return;
  }
  $("standalone-button").hidden = !state.info.standaloneAvailable;
  if (!state.info.connection) show("connect");
  else if (!state.info.staff) showSignIn();
  else show("counter");
  refreshStatus();
  setInterval(refreshStatus, 2000);
  setInterval(tick, 1000);
  document.body.dataset.ready = "true";
}

// ---- connection and sign-in ----

$("connect-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await connect({ address: $("node-address").value, standalone: false });
});
$("standalone-button").addEventListener("click", () => connect({ address: null, standalone: true }));

async function connect(args) {
  say("connect-error", null);
  $("connect-button").disabled = $("standalone-button").disabled = true;
  try {
    state.info = await invoke("connect", args);
    showSignIn();
    refreshStatus();
  } catch (error) {
    say("connect-error", error);
    $("node-address").setAttribute("aria-invalid", "true");
  } finally {
    $("connect-button").disabled = $("standalone-button").disabled = false;
  }
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("signin-error", null);
  $("signin-button").disabled = true;
  try {
    state.info = await invoke("sign_in", {
      email: $("email").value,
      password: $("password").value,
      create: $("create-account").checked,
    });
    $("password").value = "";
    show("counter");
  } catch (error) {
    say("signin-error", error);
  } finally {
    $("signin-button").disabled = false;
  }
});

$("change-node").addEventListener("click", async () => {
  state.info = await invoke("forget_node").catch(() => null);
  show("connect");
});

$("sign-out").addEventListener("click", async () => {
  state.info = await invoke("sign_out").catch(() => state.info);
  state.order = null;
  showSignIn();
});

// ---- status lights ----

function light(id, level, text) {
  const node = $(id);
  node.className = `light ${level}`;
  node.textContent = text;
}

async function refreshStatus() {
  if (!state.info || !state.info.connection) return;
  let status;
  try {
    status = await invoke("status");
  } catch (error) {
    if (handled(error)) return;
    status = null;
  }
  state.status = status;
  const banner = $("banner");
  if (!status || !status.nodeReachable) {
    light("light-node", "bad", "Node: unreachable");
    light("light-sync", "unknown", "Hub: unknown");
    light("light-card", "bad", "Card: unavailable");
    banner.textContent = "The venue node cannot be reached. Nothing can be sold until it is back; check its network cable or power.";
    banner.hidden = false;
  } else {
    banner.hidden = true;
    light("light-node", "ok", status.standalone ? "Node: standalone" : `Node: ${status.nodeUrl.replace(/^https?:\/\//, "")}`);
    const sync = {
      off: ["unknown", "Hub: not configured"],
      inSync: ["ok", "Hub: in sync"],
      behind: ["warn", `Hub: ${status.syncBacklog} to send`],
      offline: ["bad", "Hub: offline (selling goes on)"],
    }[status.sync] || ["unknown", "Hub: unknown"];
    light("light-sync", sync[0], sync[1]);
    light("light-card", status.cardAvailable ? (status.testMode ? "warn" : "ok") : "bad",
      status.cardAvailable ? (status.testMode ? "Card: test mode" : "Card: available") : "Card: unavailable");
  }
  updateSaleButtons();
  if (state.tab === "locks") refreshLocks();
  // The results follow the catalog: a ticket listed or sold elsewhere since the search shows so.
  const atCounter = !$("screen-counter").hidden;
  if (atCounter && state.tab === "sell" && !state.order && status && status.nodeReachable) search({ quiet: true });
}

// ---- finding and locking ----

let searchTimer = null;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 120);
});

// `quiet`: the same search again, to follow the catalog; it keeps the ticket chosen with the arrows
// and redraws only when the answer changed.
async function search({ quiet = false } = {}) {
  const seq = ++state.searchSeq;
  const query = $("search").value;
  if (!quiet) $("results").setAttribute("aria-busy", "true");
  try {
    const tickets = await invoke("find_tickets", { query });
    if (seq !== state.searchSeq) return; // a newer search is under way
    state.resultsFor = query;
    const chosen = quiet ? state.tickets[state.selected] : undefined;
    const same = JSON.stringify(tickets) === JSON.stringify(state.tickets);
    state.tickets = tickets;
    const kept = chosen ? tickets.findIndex((ticket) => ticket.id === chosen.id) : -1;
    state.selected = kept >= 0 ? kept : (tickets.length ? 0 : -1);
    if (!quiet || !same) drawResults();
    // Clear only a failed search's message: a refusal shown for the sale meanwhile stays.
    if (state.searchError && $("sale-error").textContent === state.searchError) say("sale-error", null);
    state.searchError = null;
  } catch (error) {
    // A quiet search that fails says nothing: the status lights tell why, and the results stay.
    if (!handled(error) && !quiet) { say("sale-error", error); state.searchError = $("sale-error").textContent; }
  } finally {
    if (seq === state.searchSeq) $("results").setAttribute("aria-busy", "false");
  }
}

function drawResults() {
  const list = $("results");
  list.replaceChildren(...state.tickets.map((ticket, index) => {
    const details = [ticket.show, ticket.venue, ticket.seat && `Seat ${ticket.seat}`].filter(Boolean).join(" · ");
    return el("li", {
      role: "option", id: `ticket-${ticket.id}`, class: "ticket", dataset: { id: ticket.id },
      "aria-selected": String(index === state.selected),
      onclick: () => { state.selected = index; drawResults(); lockSelected(); },
    }, el("span", {}, el("strong", {}, ticket.title), details ? el("span", { class: "meta" }, ` ${details}`) : ""),
       el("span", {}, money(ticket.price)));
  }));
  // The listbox's one entry when empty says so (an option that cannot be chosen).
  if (!state.tickets.length) list.append(el("li", { class: "quiet", role: "option", "aria-disabled": "true", "aria-selected": "false" }, $("search").value ? "No ticket on sale matches." : "No tickets on sale."));
  const current = list.querySelector('[aria-selected="true"]');
  if (current) current.scrollIntoView({ block: "nearest" });
}

// Enter locks from the results of what the field says now: typed faster than the search ran, it
// searches first, so a quick "Gala" + Enter never locks what the previous words found.
async function lockWhenFound() {
  if (state.resultsFor !== $("search").value) {
    clearTimeout(searchTimer);
    await search();
    if (state.resultsFor !== $("search").value) return; // typed on meanwhile: that search decides
  }
  lockSelected();
}

async function lockSelected() {
  const ticket = state.tickets[state.selected];
  if (!ticket || state.order) return;
  say("sale-error", null);
  try {
    state.order = await invoke("lock_ticket", { ticketId: ticket.id });
    drawSale();
    $("pay-cash").focus();
  } catch (error) {
    if (!handled(error)) say("sale-error", error);
    search();
  }
}

function drawSale() {
  const order = state.order;
  $("sale-empty").hidden = !!order;
  $("sale-locked").hidden = !order || order.status === "complete";
  $("sale-done").hidden = !order || order.status !== "complete";
  // A party's passes take the whole width, side by side.
  $("tab-sell").classList.toggle("party-done", !!order && order.status === "complete" && $("passes").children.length > 1);
  $("card-form").hidden = true;
  if (order && order.status !== "complete") {
    $("sale-title").textContent = order.ticket.title;
    $("sale-price").textContent = money(orderTotal(order));
    $("sale-countdown").textContent = left(order.expiresAt);
    drawParty(order);
  }
  updateSaleButtons();
}

// A party's tickets on the sale screen: how many, and each seat with its category and price.
function drawParty(order) {
  const tickets = order.show ? order.tickets || [] : [];
  $("sale-party").hidden = !tickets.length;
  $("sale-count").textContent = `${tickets.length} ticket${tickets.length === 1 ? "" : "s"} for one party`;
  $("sale-seats").replaceChildren(...tickets.map((t) =>
    el("li", {}, el("strong", {}, t.seat || t.category), ` · ${t.category} · ${money(t.price)}`)));
}

function updateSaleButtons() {
  const card = !state.status || state.status.cardAvailable;
  $("pay-card").disabled = !card;
  $("card-note").textContent = state.status ? state.status.cardNote : "";
}

async function payCash() {
  if (!state.order || state.order.status === "complete") return;
  state.saleStarted = performance.now();
  await settle(invoke("pay_cash", { orderId: state.order.id }));
}

function askCard() {
  if (!state.order || state.order.status === "complete") return;
  if (state.status && !state.status.cardAvailable) { say("sale-error", { message: state.status.cardNote }); return; }
  // The node takes a card only from an order's own buyer (it answers 401, which would end the
  // session): someone else's order found by its number (a kiosk guest's) is paid in cash.
  if (state.order.buyer && state.info && state.order.buyer !== state.info.staff) {
    say("sale-error", { message: `This order was placed by someone else (${state.order.buyer}): take cash (F8).` });
    return;
  }
  $("card-form").hidden = false;
  $("card-token").value = state.status && state.status.testMode ? "tok_visa" : "";
  $("card-token").focus();
  $("card-token").select();
}

$("card-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.saleStarted = performance.now();
  await settle(invoke("pay_card", { orderId: state.order.id, token: $("card-token").value.trim() }));
});
$("card-cancel").addEventListener("click", () => { $("card-form").hidden = true; $("pay-card").focus(); });

async function settle(payment) {
  say("sale-error", null);
  for (const id of ["pay-cash", "pay-card", "release"]) $(id).disabled = true;
  try {
    const sale = await payment;
    // From the key press to the node's answer (it answers once the sale is committed); the
    // benchmark reads it.
    state.lastSaleMs = performance.now() - state.saleStarted;
    state.order = { ...state.order, status: "complete" };
    drawPasses(sale.passes, sale.payment);
    drawSale();
    $("print").focus();
  } catch (error) {
    if (!handled(error)) say("sale-error", error);
  } finally {
    $("pay-cash").disabled = $("release").disabled = false;
    updateSaleButtons();
  }
}

// The passes to hand over, one per ticket (one page each when printed). The first keeps the ids
// a single ticket's pass always had.
function drawPasses(passes, payment) {
  const paid = payment ? `Paid ${payment.method === "cash" ? "in cash" : "by card"}, ${new Date(payment.paidAt).toLocaleString()}` : "";
  $("passes").replaceChildren(...passes.map((pass, index) => drawPass(pass, paid, index, passes.length)));
}

function drawPass(pass, paid, index, count) {
  const id = (name) => (index === 0 ? { id: `pass-${name}` } : {});
  const when = pass.startsAt ? new Date(pass.startsAt).toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" }) : "";
  // Only the node's signed code is printed; a ticket without one (not paid yet, refunded) says so.
  let qr;
  if (pass.qrSvg) {
    qr = el("img", { ...id("qr"), class: "qr", alt: `QR code of ticket ${index + 1}`, width: 200, height: 200 });
    qr.src = `data:image/svg+xml;base64,${btoa(pass.qrSvg)}`;
  } else {
    qr = el("p", { ...id("unprintable"), class: "problem unprintable" }, pass.unprintable || "Not paid yet: no pass to print");
  }
  return el("article", { class: "pass", role: "listitem", dataset: { ticket: pass.ticketId } },
    el("p", { class: "pass-brand" }, count > 1 ? `Tix · Admit one · ${index + 1} of ${count}` : "Tix · Admit one"),
    el("h2", id("title"), pass.title),
    when || pass.hall ? el("p", { class: "pass-when" }, [when, pass.hall].filter(Boolean).join(" · ")) : "",
    pass.seat ? el("p", { class: "pass-seat" }, pass.seat) : "",
    el("p", { ...id("price"), class: "price" }, pass.category ? `${pass.category} · ${money(pass.price)}` : money(pass.price)),
    qr,
    el("p", {}, el("span", { class: "quiet" }, "Ticket"), " ", el("code", id("ticket"), pass.ticketId)),
    el("p", {}, el("span", { class: "quiet" }, "Order"), " ", el("code", id("order"), pass.orderId)),
    el("p", { ...id("paid"), class: "quiet" }, paid));
}

async function release() {
  if (!state.order || state.order.status === "complete") return;
  try {
    await invoke("release", { orderId: state.order.id });
    nextSale();
  } catch (error) {
    if (!handled(error)) say("sale-error", error);
  }
}

function nextSale() {
  state.order = null;
  drawSale();
  say("sale-error", null);
  openTab("sell");
  $("search").select();
  search();
}

$("pay-cash").addEventListener("click", payCash);
$("pay-card").addEventListener("click", askCard);
$("release").addEventListener("click", release);
$("print").addEventListener("click", () => window.print());
$("next-sale").addEventListener("click", nextSale);

function tick() {
  if (state.order && state.order.status !== "complete") {
    const text = left(state.order.expiresAt);
    $("sale-countdown").textContent = text;
    if (text === "expired") {
      // The node releases it on its own; the counter is free for the next customer.
      const title = orderLabel(state.order);
      const back = state.order.show ? "the tickets are" : "the ticket is";
      state.order = null;
      drawSale();
      say("sale-error", { message: `The lock on "${title}" expired; ${back} back on sale.` });
      search();
    }
  }
  for (const cell of document.querySelectorAll("[data-expires]")) cell.textContent = left(cell.dataset.expires);
}

// ---- tabs: locks, customer orders, today ----

function openTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tab")) button.setAttribute("aria-pressed", String(button.dataset.tab === tab));
  for (const name of ["sell", "shows", "locks", "lookup", "summary", "door"]) $(`tab-${name}`).hidden = name !== tab;
  if (tab === "sell") { $("search").focus(); if (!state.tickets.length) search(); }
  if (tab === "shows") openShows();
  if (tab === "locks") refreshLocks();
  if (tab === "lookup") $("lookup-email").focus();
  if (tab === "summary") refreshSummary();
  if (tab === "door") openDoor();
}
for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => openTab(button.dataset.tab));

async function refreshLocks() {
  try {
    const answer = await invoke("locks");
    state.skew = Date.parse(answer.now) - Date.now();
    $("locks-body").replaceChildren(...answer.locks.map((order) => el("tr", {},
      el("td", {}, orderLabel(order)), el("td", {}, order.buyer || ""),
      el("td", { class: "num" }, money(orderTotal(order))),
      el("td", { "data-expires": order.expiresAt }, left(order.expiresAt)))));
    $("locks-empty").hidden = answer.locks.length > 0;
  } catch (error) {
    handled(error);
  }
}

$("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await lookup();
});
$("lookup-number-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await lookupNumber();
});

async function lookup() {
  say("lookup-error", null);
  try {
    const found = await invoke("orders_by_email", { email: $("lookup-email").value });
    const empty = $("lookup-empty");
    empty.hidden = !!(found.user && found.orders.length);
    empty.textContent = found.user ? "No orders yet." : "No account has that email.";
    state.refind = lookup;
    drawFound(found.orders.map((order) => ({ ...order, buyer: found.user.email })));
  } catch (error) {
    if (!handled(error)) say("lookup-error", error);
  }
}

// Any order by its number (a kiosk guest's has no email to look up).
async function lookupNumber() {
  say("lookup-error", null);
  try {
    const order = await invoke("order_by_number", { orderId: $("lookup-number").value });
    $("lookup-empty").hidden = true;
    state.refind = lookupNumber;
    drawFound([order]);
  } catch (error) {
    if (handled(error)) return;
    say("lookup-error", error);
    drawFound([]);
  }
}

function drawFound(orders) {
  state.found = orders;
  state.foundSelected = orders.length ? 0 : -1;
  $("lookup-body").replaceChildren(...orders.map((order, index) => {
    const paid = order.payment;
    const actions = el("td", {});
    if (order.status === "complete") {
      actions.append(el("button", { type: "button", onclick: () => reprint(order) }, "Pass"));
      if (paid && !paid.refundedAt) {
        actions.append(" ", el("button", { type: "button", onclick: () => refund(order) }, "Refund"));
      }
    } else if (isOpen(order)) {
      actions.append(el("button", { type: "button", onclick: () => sellFound(order) }, "Take payment"));
    }
    return el("tr", { "aria-selected": String(index === state.foundSelected), dataset: { index } },
      el("td", {}, orderLabel(order)), el("td", {}, order.buyer || ""), el("td", {}, order.status),
      el("td", {}, paid ? `${money(paid.amount)} ${paid.method}${paid.refundedAt ? " (refunded)" : ""}` : "–"), actions);
  }));
}

function isOpen(order) {
  return order.status === "created" || order.status === "awaiting:payment";
}

// An open order found here (a party at the kiosk who pays at the counter) becomes the sale.
function sellFound(order) {
  if (state.order && state.order.status !== "complete") {
    say("lookup-error", { message: "Finish or release the sale at the counter first (F2)." });
    return;
  }
  state.order = order;
  openTab("sell");
  drawSale();
  $("pay-cash").focus();
}

async function refund(order) {
  const what = order.show ? "tickets are" : "ticket is";
  if (!window.confirm(`Refund ${money(orderTotal(order))} for "${orderLabel(order)}"? The ${what} not resold.`)) return;
  try {
    await invoke("refund", { orderId: order.id });
    await (state.refind || lookup)();
  } catch (error) {
    if (!handled(error)) say("lookup-error", error);
  }
}

async function reprint(order) {
  try {
    const passes = await invoke("order_passes", { order });
    state.order = { ...order, status: "complete" };
    drawPasses(passes, order.payment);
    openTab("sell");
    drawSale();
    $("print").focus();
  } catch (error) {
    say("lookup-error", error);
  }
}

$("summary-form").addEventListener("submit", (event) => { event.preventDefault(); refreshSummary(); });

async function refreshSummary() {
  say("summary-error", null);
  try {
    const day = await invoke("summary", { date: $("summary-date").value || null });
    state.currency = day.currency;
    if (!$("summary-date").value) $("summary-date").value = day.date;
    const row = (label, m, strong) => el("tr", strong ? { class: "total" } : {},
      el("th", { scope: "row" }, label), el("td", { class: "num" }, m.sales), el("td", { class: "num" }, money(m.salesAmount)),
      el("td", { class: "num" }, m.refunds), el("td", { class: "num" }, money(m.refundsAmount)),
      el("td", { class: "num", id: `net-${label.toLowerCase()}` }, money(m.net)));
    $("summary-body").replaceChildren(row("Card", day.card), row("Cash", day.cash), row("Total", day.total, true));
  } catch (error) {
    if (!handled(error)) say("summary-error", error);
  }
}

function selectFound(step) {
  if (!state.found || !state.found.length) return;
  state.foundSelected = Math.max(0, Math.min(state.found.length - 1, state.foundSelected + step));
  for (const row of $("lookup-body").rows) row.setAttribute("aria-selected", String(Number(row.dataset.index) === state.foundSelected));
}

// In the customer view, outside its fields: ↑/↓ choose an order, Enter shows its passes (or takes
// payment for an open one), R refunds it.
function lookupKey(event) {
  const order = state.found && state.found[state.foundSelected];
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    selectFound(event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "Enter" && order && order.status === "complete") {
    event.preventDefault();
    reprint(order);
  } else if (event.key === "Enter" && order && isOpen(order)) {
    event.preventDefault();
    sellFound(order);
  } else if ((event.key === "r" || event.key === "R") && order && order.payment && !order.payment.refundedAt) {
    event.preventDefault();
    refund(order);
  }
}

// ---- keyboard ----

document.addEventListener("keydown", (event) => {
  if ($("screen-counter").hidden) return;
  const key = event.key;
  const inSearch = document.activeElement === $("search");
  const inField = document.activeElement instanceof HTMLInputElement;
  if (key === "F2" || (key === "/" && !(document.activeElement instanceof HTMLInputElement))) {
    event.preventDefault();
    if (state.order && state.order.status === "complete") nextSale(); else { openTab("sell"); $("search").select(); }
  } else if (key === "F3") { event.preventDefault(); openTab("shows"); }
  else if (key === "F4") { event.preventDefault(); release(); }
  else if (key === "F5") { event.preventDefault(); openTab("locks"); }
  else if (key === "F6") { event.preventDefault(); openTab("lookup"); }
  else if (key === "F7") { event.preventDefault(); openTab("summary"); }
  else if (key === "F8") { event.preventDefault(); payCash(); }
  else if (key === "F9") { event.preventDefault(); askCard(); }
  else if (key === "F10") { event.preventDefault(); openTab("door"); }
  else if (key === "p" && (event.ctrlKey || event.metaKey)) {
    if (state.order && state.order.status === "complete") { event.preventDefault(); window.print(); }
  } else if (state.tab === "shows") {
    showsKey(event);
  } else if (state.tab === "door") {
    doorKey(event);
  } else if (state.tab === "lookup" && !inField) {
    lookupKey(event);
  } else if (state.tab === "lookup" && (key === "ArrowDown" || key === "ArrowUp")) {
    // From the email field, the arrows move into the orders.
    event.preventDefault();
    $("lookup-table").focus();
    selectFound(0);
  } else if (inSearch && (key === "ArrowDown" || key === "ArrowUp")) {
    event.preventDefault();
    if (!state.tickets.length) return;
    const step = key === "ArrowDown" ? 1 : -1;
    state.selected = Math.max(0, Math.min(state.tickets.length - 1, state.selected + step));
    drawResults();
  } else if (inSearch && key === "Enter") {
    event.preventDefault();
    lockWhenFound();
  }
});

start();
