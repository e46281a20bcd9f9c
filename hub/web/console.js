// The hub's console: reads the JSON API (the sign-in cookie authenticates it) every few seconds
// and draws the venues, the sales per day and the quarantine; adopts a venue's new epoch.
"use strict";

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function money(amount) {
  return Number(amount || 0).toFixed(2);
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

async function api(path, options) {
  const answer = await fetch(path, { credentials: "same-origin", ...options });
  if (answer.status === 401) { window.location.assign("/"); throw new Error("signed out"); }
  const body = await answer.json();
  if (!answer.ok) throw new Error((body.errors && body.errors[0] && body.errors[0].message) || answer.statusText);
  return body;
}

function drawVenues(venues) {
  $("no-venues").hidden = venues.length > 0;
  $("venues").replaceChildren(...venues.map((v) => {
    const row = document.createElement("tr");
    const heard = v.lastSeenAt ? (Date.now() - Date.parse(v.lastSeenAt)) / 1000 : Infinity;
    const live = heard < 120;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = v.venue;
    row.append(th,
      cell(live ? "Live" : "Quiet", live ? "state-live" : "state-quiet"),
      cell(`${v.events} (to #${v.lastSeq})`, "number"),
      cell(`${v.lagMs} ms`, "number"),
      cell(ago(v.lastSeenAt)),
      cell(String(v.sales.orders), "number"),
      cell(money(v.sales.revenue), "number"));
    const epoch = cell(v.epoch);
    for (const pending of v.pendingEpochs || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `Adopt new epoch ${pending.epoch}`;
      button.setAttribute("aria-label", `Adopt ${v.venue}'s new epoch ${pending.epoch} (${pending.messages} messages waiting)`);
      button.addEventListener("click", () => adopt(v.venue, pending.epoch));
      epoch.append(document.createElement("br"), button);
    }
    row.append(epoch);
    return row;
  }));
}

function drawDaily(days) {
  $("no-daily").hidden = days.length > 0;
  $("daily").replaceChildren(...days.map((d) => {
    const row = document.createElement("tr");
    row.append(cell(d.day), cell(d.venue), cell(String(d.orders), "number"), cell(money(d.revenue), "number"));
    return row;
  }));
}

function drawQuarantine(counts) {
  $("no-quarantine").hidden = counts.length > 0;
  $("quarantine").replaceChildren(...counts.map((q) => {
    const row = document.createElement("tr");
    row.append(cell(q.venue || "(no venue)"), cell(q.reason), cell(String(q.count), "number"), cell(ago(q.lastAt)));
    return row;
  }));
}

async function adopt(venue, epoch) {
  const sure = window.confirm(`Follow ${venue} at its new epoch ${epoch}? The old epoch's history is kept; its stream is not followed any more.`);
  if (!sure) return;
  try {
    await api(`/api/hub/venues/${encodeURIComponent(venue)}/adopt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ epoch }),
    });
    await refresh();
  } catch (error) {
    showProblem(`Adopting failed: ${error.message}`);
  }
}

function showProblem(text) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
}

async function refresh() {
  try {
    const [health, venues, daily, quarantine] = await Promise.all([
      api("/api/hub/health"), api("/api/hub/venues"), api("/api/hub/sales/daily?days=14"), api("/api/hub/quarantine/counts"),
    ]);
    $("broker").textContent = health.mqtt.connected ? "Broker: connected" : "Broker: not connected";
    drawVenues(venues);
    drawDaily(daily);
    drawQuarantine(quarantine);
    showProblem("");
    $("updated").textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
  } catch (error) {
    if (error.message !== "signed out") showProblem(`The hub did not answer: ${error.message}`);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
