// Tix storefront: the little that needs JavaScript. Every page works without it; this adds the
// payment countdown, live updates, search as you type, Stripe's card form and the kiosk's idle
// return. Text from the server is only ever set with textContent, never parsed as HTML.
"use strict";

(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const announce = (text) => {
    const status = $("#live-status");
    if (status) status.textContent = text;
  };

  // ---- Countdown to the end of an order's hold -------------------------------------------------
  let stopCountdown = () => {};

  function orderEnded(label, outcome) {
    stopCountdown();
    const status = $("#order-status");
    if (status) status.textContent = label;
    const pay = $("#pay-section");
    if (pay) pay.hidden = true;
    const said = $("#order-outcome");
    if (said && outcome) said.textContent = outcome;
  }

  function startCountdown() {
    const clock = $("#countdown");
    if (!clock) return;
    const expiresAt = Number(clock.dataset.expiresAt);
    // The server's clock decides; correct for this device's clock being off.
    const skew = Date.now() - Number(clock.dataset.now);
    const tick = () => {
      const left = Math.round((expiresAt - (Date.now() - skew)) / 1000);
      if (left <= 0) {
        orderEnded("Expired", "This order expired before it was paid; the ticket went back on sale.");
        clock.textContent = "Time is up.";
        return;
      }
      const minutes = Math.floor(left / 60);
      const seconds = String(left % 60).padStart(2, "0");
      clock.textContent = "Time left to pay: " + minutes + ":" + seconds;
    };
    tick();
    const timer = setInterval(tick, 1000);
    stopCountdown = () => clearInterval(timer);
  }

  // ---- Live updates ----------------------------------------------------------------------------
  const stateLabels = { available: "Available", reserved: "Reserved", sold: "Sold" };

  function money(price) {
    const table = $("#ticket-table");
    const currency = ((table && table.dataset.currency) || "usd").toUpperCase();
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: currency }).format(price);
    } catch (_) {
      return price.toFixed(2) + " " + currency;
    }
  }

  function ticketRow(ticket) {
    const row = document.createElement("tr");
    row.dataset.ticketId = ticket.id;
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/tickets/" + encodeURIComponent(ticket.id);
    link.textContent = ticket.title;
    name.append(link);
    const price = document.createElement("td");
    price.textContent = money(ticket.price);
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.dataset.ticketState = "";
    state.append(badge);
    row.append(name, price, state);
    setState(row, ticket.state);
    return row;
  }

  function setState(root, state) {
    $$("[data-ticket-state]", root).forEach((badge) => {
      badge.textContent = stateLabels[state] || state;
      badge.className = "state state-" + state;
    });
  }

  function onTicket(ticket) {
    const rows = $("#ticket-rows");
    let seen = false;
    $$("[data-ticket-id]").forEach((element) => {
      if (element.dataset.ticketId !== ticket.id) return;
      seen = true;
      setState(element, ticket.state);
      const link = $("a", element);
      if (link && element.tagName === "TR") link.textContent = ticket.title;
    });
    if (!seen && ticket.listed && rows && rows.hasAttribute("data-live-append")) {
      rows.append(ticketRow(ticket));
      const table = $("#ticket-table");
      if (table) table.hidden = false;
      const empty = $("#empty");
      if (empty) empty.hidden = true;
    }
    const buy = $("[data-buy-for]");
    if (buy && buy.dataset.buyFor === ticket.id) {
      const form = $("[data-buy-form]", buy);
      const gone = $("[data-gone]", buy);
      if (ticket.state === "available") {
        // Back on sale: a page drawn without a Buy button needs the server to draw one.
        if (!form) window.location.reload();
        if (gone) gone.hidden = true;
      } else {
        if (form) form.hidden = true;
        if (gone) {
          gone.textContent = ticket.state === "sold"
            ? "Sorry, this ticket has just been sold."
            : "Sorry, someone else has just reserved this ticket.";
          gone.hidden = false;
        }
      }
    }
    announce(ticket.title + ": " + (stateLabels[ticket.state] || ticket.state));
  }

  function onOrder(order) {
    $$("[data-order-status-for]").forEach((element) => {
      if (element.dataset.orderStatusFor !== order.id) return;
      element.textContent = order.status === "complete" ? "Complete"
        : order.status === "cancelled" ? "Cancelled" : "Awaiting payment";
    });
    const status = $("#order-status");
    if (!status || status.dataset.orderId !== order.id) return;
    if (order.status === "complete") {
      orderEnded("Complete", "Paid, thank you. Your ticket number is " + order.ticket + ": show it at the door.");
    } else if (order.status === "cancelled") {
      const expired = Date.now() >= Number(status.dataset.expiresAt) - 2000;
      orderEnded(expired ? "Expired" : "Cancelled", expired
        ? "This order expired before it was paid; the ticket went back on sale."
        : "This order was cancelled; the ticket went back on sale.");
    }
  }

  function follow() {
    if (!window.EventSource) return;
    if (!$("[data-ticket-id]") && !$("#ticket-rows") && !$("#order-status") && !$("[data-order-status-for]") &&
      !$("[data-seat-map]") && !$("[data-counts-for]")) return;
    const source = new EventSource("/live");
    const read = (handler) => (event) => {
      try { handler(JSON.parse(event.data)); } catch (_) { /* a malformed notice is skipped */ }
    };
    source.addEventListener("ticket", read(onTicket));
    source.addEventListener("order", read(onOrder));
    source.addEventListener("seats", read((notice) => seatNotice(notice)));
    source.addEventListener("resync", () => (refetchSeats ? refetchSeats() : window.location.reload()));
    window.addEventListener("pagehide", () => source.close());
  }

  // ---- Staff counts: sold, held and available per category, as the node changes them ------------
  function countsNotice(notice) {
    $$("[data-counts-for]").forEach((table) => {
      if (table.dataset.countsFor !== notice.show) return;
      $$("[data-count]", table).forEach((cell) => {
        const list = notice[cell.dataset.count];
        const value = list && list[Number(cell.dataset.cat)];
        if (value !== undefined && cell.textContent !== String(value)) cell.textContent = String(value);
      });
    });
  }

  // ---- Seat map: the server draws it; this pairs each picture seat with its checkbox -------------
  let seatNotice = (notice) => countsNotice(notice);
  let refetchSeats = null;

  function seatMap() {
    const section = $("[data-seat-map]");
    if (!section) return;
    const rects = $$("#seat-svg rect.seat", section);
    const boxes = $$("input[name=seat]", section);
    if (rects.length !== boxes.length) return;
    const showId = section.dataset.showId;
    let version = Number(section.dataset.version);
    const seatOf = new Map(rects.map((rect, i) => [rect, i]));
    const unitAt = new Map(boxes.map((box, i) => [Number(box.value), i]));
    const name = (i) => boxes[i].parentElement.textContent.replace(/\s*\u267f/, "").trim();
    const list = $("details.seat-list", section);
    // A long list is there for keyboards and screen readers; folded, it still is, one key away.
    if (list && boxes.length > 150) list.open = false;
    const lost = $("#seat-lost");
    const choice = $("#seat-choice");
    const selectable = Boolean(choice);
    const tell = () => {
      if (!choice) return;
      const ticked = boxes.filter((box) => box.checked);
      choice.textContent = ticked.length === 0 ? "No seats ticked yet."
        : "Ticked: " + ticked.map((box) => name(boxes.indexOf(box))).join("; ");
    };
    const tick = (i, on) => {
      boxes[i].checked = on;
      rects[i].classList.toggle("k", on);
    };
    if (selectable) {
      // Sending no seats would only bring the page back with a question; say it here.
      $("#seat-form").addEventListener("submit", (event) => {
        if (boxes.some((box) => box.checked)) return;
        event.preventDefault();
        if (lost && lost.hidden) {
          lost.textContent = "Please tick the seats you want first.";
          lost.hidden = false;
        }
      });
      section.addEventListener("click", (event) => {
        const i = seatOf.get(event.target);
        if (i === undefined || boxes[i].disabled) return;
        tick(i, !boxes[i].checked);
        tell();
      });
      section.addEventListener("change", (event) => {
        const i = boxes.indexOf(event.target);
        if (i < 0) return;
        tick(i, event.target.checked);
        tell();
      });
      tell();
    }
    section.addEventListener("pointerover", (event) => {
      const i = seatOf.get(event.target);
      if (i === undefined || event.target.firstChild) return;
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = name(i);
      event.target.append(title);
    });
    // A ticket of this show is a unit of it: the show's id with its counter moved on by index + 1.
    const counter = (id) => parseInt(id.slice(18), 16);
    const unitOf = (ticket) => ticket.slice(0, 18) === showId.slice(0, 18)
      ? (counter(ticket) - counter(showId) - 1) & 0xffffff : -1;
    const taken = [];
    const apply = (ticket, state) => {
      const i = unitAt.get(unitOf(ticket));
      if (i === undefined) return;
      const gone = state !== "a";
      if (gone && boxes[i].checked) {
        tick(i, false);
        taken.push(name(i));
      }
      rects[i].classList.toggle("t", gone);
      boxes[i].parentElement.classList.toggle("t", gone);
      boxes[i].disabled = gone || !selectable;
    };
    const explain = () => {
      if (taken.length === 0 || !lost) return;
      lost.textContent = "Someone else has just taken " + taken.join("; ") +
        ", which you had ticked. Please choose " + (taken.length === 1 ? "another seat." : "other seats.");
      lost.hidden = false;
      taken.length = 0;
      tell();
    };
    const refetch = async () => {
      try {
        const reply = await fetch("/api/shows/" + encodeURIComponent(showId) + "/seats");
        if (!reply.ok) return;
        const map = await reply.json();
        (map.sections || []).forEach((s) => s.rows.forEach((r) => r.seats.forEach((seat) => apply(seat[0], seat[5]))));
        explain();
      } catch (_) { /* the next notice tries again */ }
    };
    seatNotice = (notice) => {
      countsNotice(notice);
      if (notice.show !== showId) return;
      // The notice carries every change after `from`: a map older than that missed some.
      if (notice.from > version) refetch();
      version = Math.max(version, notice.version);
      notice.seats.forEach(([ticket, state]) => apply(ticket, state));
      explain();
    };
    return refetch;
  }

  // ---- Search as you type ------------------------------------------------------------------------
  function searchAsYouType() {
    const input = $("[data-live-search]");
    const rows = $("#ticket-rows");
    if (!input || !rows) return;
    const original = Array.from(rows.children);
    const pager = $(".pager");
    let latest = 0;
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const query = input.value.trim();
        const asked = ++latest;
        const url = new URL(window.location.href);
        if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
        url.searchParams.delete("after");
        url.searchParams.delete("offset");
        window.history.replaceState(null, "", url);
        let shown = original;
        if (query) {
          try {
            const reply = await fetch("/api/search?available=true&limit=50&q=" + encodeURIComponent(query));
            if (!reply.ok) return;
            const hits = await reply.json();
            if (asked !== latest) return;
            shown = hits.map((hit) => ticketRow({ id: hit.id, title: hit.title, price: hit.price, state: "available" }));
          } catch (_) {
            return;
          }
        }
        rows.replaceChildren(...shown);
        const table = $("#ticket-table");
        if (table) table.hidden = shown.length === 0;
        const empty = $("#empty");
        if (empty) {
          empty.hidden = shown.length !== 0;
          empty.textContent = query ? "No tickets match your search." : "No tickets are on sale right now.";
        }
        if (pager) pager.hidden = Boolean(query);
        announce(shown.length + (shown.length === 1 ? " ticket" : " tickets"));
      }, 150);
    });
  }

  // ---- Forms ------------------------------------------------------------------------------------
  function moneyFields() {
    $$("input[data-money]").forEach((input) => {
      input.addEventListener("blur", () => {
        const value = Number(input.value);
        if (input.value.trim() !== "" && Number.isFinite(value)) input.value = value.toFixed(2);
      });
    });
  }

  function oneSubmitEach() {
    $$("form[method=post]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        // The server refuses a second order or charge anyway; this spares the buyer the message.
        setTimeout(() => {
          if (!event.defaultPrevented) $$("button[type=submit]", form).forEach((b) => { b.disabled = true; });
        }, 0);
      });
    });
  }

  function stripeCard() {
    const form = $("#pay-form[data-stripe-key]");
    if (!form || !window.Stripe) return;
    const stripe = window.Stripe(form.dataset.stripeKey);
    const card = stripe.elements().create("card");
    card.mount("#card-element");
    const errors = $("#card-errors");
    form.addEventListener("submit", async (event) => {
      if ($("#stripe-token").value) return;
      event.preventDefault();
      const result = await stripe.createToken(card);
      if (result.error) {
        errors.textContent = result.error.message;
        $$("button[type=submit]", form).forEach((b) => { b.disabled = false; });
        return;
      }
      $("#stripe-token").value = result.token.id;
      form.submit();
    });
  }

  // ---- Kiosk: back to the start when nobody is using it -----------------------------------------
  function kioskIdle() {
    const seconds = Number(document.body.dataset.idleSeconds);
    if (!seconds) return;
    let timer = null;
    const restart = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const signOut = $("#signout-form");
        if (signOut) signOut.submit();
        else if (window.location.pathname !== "/" || window.location.search) window.location.assign("/");
        else restart();
      }, seconds * 1000);
    };
    ["pointerdown", "keydown", "touchstart", "input", "scroll"].forEach((name) =>
      window.addEventListener(name, restart, { passive: true }));
    restart();
  }


  /** The door screen: scans go to the JSON API and the verdict fills the screen; the camera
   * reads QR codes where the browser has BarcodeDetector. */
  function door() {
    const form = $("#door-form");
    if (!form) return;
    const code = $("#door-code");
    const gate = $("#door-gate");
    const show = $("#door-show");
    const verdict = $("#verdict");
    const counts = $("#door-counts");
    if (!gate.value) gate.value = localStorage.getItem("tix-door-gate") || "";
    gate.addEventListener("change", () => localStorage.setItem("tix-door-gate", gate.value.trim()));
    let busy = false;

    function say(admitted, result, message, detail) {
      verdict.className = "verdict " + (admitted ? "verdict-in" : "verdict-out");
      verdict.replaceChildren();
      const big = document.createElement("p");
      big.className = "verdict-result";
      big.dataset.result = result;
      big.textContent = message;
      const small = document.createElement("p");
      small.className = "verdict-detail";
      small.textContent = detail;
      verdict.append(big, small);
      beep(admitted);
    }

    async function check(text) {
      text = text.trim();
      if (!text || busy) return;
      if (!gate.value.trim()) {
        say(false, "error", "Name the gate first", "");
        gate.focus();
        return;
      }
      busy = true;
      const body = { code: text, gate: gate.value.trim() };
      if (show.value) body.showId = show.value;
      if ($("#door-exit").checked) body.exit = true;
      try {
        const response = await fetch("/api/check-in", {
          method: "POST",
          headers: { "content-type": "application/json" },
          credentials: "same-origin",
          body: JSON.stringify(body),
        });
        const answer = await response.json();
        if (!response.ok) {
          const why = (answer.errors || []).map((e) => e.message).join(" ");
          say(false, "error", why || "The scan was refused", "");
        } else {
          const detail = [answer.title, answer.seat].filter(Boolean).join(" · ");
          say(answer.result === "admitted" || answer.result === "exited", answer.result, answer.message, detail);
          if (answer.counts) counts.textContent = answer.counts.admitted + " admitted of " + answer.counts.sold + " sold";
        }
      } catch (_) {
        say(false, "error", "No answer from the node: check the connection", "");
      } finally {
        busy = false;
        code.value = "";
        code.focus();
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      check(code.value);
    });

    const camera = $("#door-camera");
    const video = $("#door-video");
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    camera.hidden = false;
    camera.addEventListener("click", async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        camera.hidden = true;
        await video.play();
      } catch (_) {
        say(false, "error", "The camera could not be opened; type the code instead", "");
        return;
      }
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      let last = "";
      let lastAt = 0;
      const look = async () => {
        try {
          const found = await detector.detect(video);
          const value = found.length ? found[0].rawValue : "";
          // One code held in front of the camera is one scan, not one every frame.
          if (value && (value !== last || Date.now() - lastAt > 3000)) {
            last = value;
            lastAt = Date.now();
            await check(value);
          }
        } catch (_) { /* a frame that could not be read */ }
        setTimeout(look, 150);
      };
      look();
    });
  }

  /** A short tone: high to let in, low to stop. */
  function beep(admitted) {
    const Audio = window.AudioContext || window.webkitAudioContext;
    if (!Audio) return;
    try {
      const context = beep.context || (beep.context = new Audio());
      const tone = context.createOscillator();
      const gain = context.createGain();
      tone.frequency.value = admitted ? 880 : 220;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + (admitted ? 0.12 : 0.35));
    } catch (_) { /* no sound, the colour says it */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    startCountdown();
    refetchSeats = seatMap();
    follow();
    searchAsYouType();
    moneyFields();
    oneSubmitEach();
    stripeCard();
    kioskIdle();
    door();
  });
})();
