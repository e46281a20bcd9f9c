//! The copy of a show's sold tickets a door scanner keeps (the node's `GET
//! /api/check-in/shows/{id}`), what the scanner learned since (admissions and refunds the node
//! told it, admissions it made itself), and the decision it takes from them when the node cannot
//! be asked: the signature with the venue's public key, then the show, the pass's window, a
//! refund, an earlier admission, in that order. Nothing here touches the clock, the network or
//! the disk.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tix_core::passes::{OutsideWindow, Pass, PassError, PassVerifier, Scope};
use tix_core::time::Millis;

/// An admission as the scanner knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Seen {
    /// When (ISO).
    pub(crate) at: String,
    pub(crate) gate: String,
    /// The admitting scanner was offline then.
    #[serde(default)]
    pub(crate) offline: bool,
    /// This scanner made it.
    #[serde(default)]
    pub(crate) here: bool,
}

/// What became of a ticket since the copy was taken: a line of the scanner's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Learned {
    pub(crate) ticket_id: String,
    #[serde(default)]
    pub(crate) order_id: String,
    #[serde(default)]
    pub(crate) seat: String,
    /// Admitted (when), or else refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) admitted: Option<Seen>,
}

impl Learned {
    /// What a verdict of the node says about its ticket, if anything lasting: an admission (made
    /// by this scanner's scan when `here` and the verdict admits) or a refund.
    pub(crate) fn from_verdict(verdict: &Value, here: bool) -> Option<Learned> {
        let text = |key: &str| verdict[key].as_str().unwrap_or_default().to_owned();
        let admitted = match verdict["result"].as_str()? {
            "admitted" | "already-admitted" => Some(Seen {
                at: verdict["admittedAt"].as_str()?.to_owned(),
                gate: text("gate"),
                offline: verdict["offline"] == true,
                here: here && verdict["result"] == "admitted",
            }),
            "refunded" => None,
            _ => return None,
        };
        Some(Learned {
            ticket_id: verdict["ticketId"].as_str()?.to_owned(),
            order_id: text("orderId"),
            seat: text("seat"),
            admitted,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Valid,
    Admitted(Seen),
    Refunded,
}

#[derive(Debug, Clone)]
struct Ticket {
    order: String,
    seat: String,
    status: Status,
    /// Admitted, then scanned out at a show with re-entry: the next scan in admits again.
    out: bool,
}

/// A show's tickets as the scanner knows them, and the key its passes are signed with.
pub(crate) struct ShowCopy {
    pub(crate) show_id: String,
    pub(crate) title: String,
    pub(crate) starts_at: Option<String>,
    verifier: PassVerifier,
    tickets: HashMap<String, Ticket>,
}

/// What the scanner decides on its own about a code.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Not signed with this venue's key, or altered.
    Forged(PassError),
    WrongShow(Pass),
    NotValidNow(Pass, OutsideWindow),
    /// Signed by the venue, but the copy has its ticket sold in another order.
    NoSale(Pass),
    Refunded(Pass),
    AlreadyAdmitted(Pass, Seen),
    /// Let in. `known`: the ticket is in the copy (else it was sold after the copy was taken).
    Admit(Pass, bool),
    /// Let in again: admitted before, then scanned out at a show with re-entry.
    Readmit(Pass),
}

impl Decision {
    /// The pass let in, when the decision lets its holder in.
    pub(crate) fn admits(&self) -> Option<&Pass> {
        match self {
            Decision::Admit(pass, _) | Decision::Readmit(pass) => Some(pass),
            _ => None,
        }
    }
}

impl ShowCopy {
    /// The copy from the node's JSON; what is missing or malformed, in words.
    pub(crate) fn from_node(json: &Value) -> Result<ShowCopy, String> {
        let show = &json["show"];
        let show_id = show["id"]
            .as_str()
            .ok_or("the copy names no show")?
            .to_owned();
        let key = json["key"]["publicKey"]
            .as_str()
            .ok_or("the copy has no public key")?;
        let verifier = PassVerifier::from_hex(key).ok_or("the copy's public key is malformed")?;
        let mut tickets = HashMap::new();
        for ticket in json["tickets"]
            .as_array()
            .ok_or("the copy lists no tickets")?
        {
            let Some(id) = ticket["ticketId"].as_str() else {
                continue;
            };
            let status = match ticket["status"].as_str() {
                Some("refunded") => Status::Refunded,
                Some("admitted") => Status::Admitted(Seen {
                    at: ticket["admittedAt"].as_str().unwrap_or_default().to_owned(),
                    gate: ticket["gate"].as_str().unwrap_or_default().to_owned(),
                    offline: ticket["offline"] == true,
                    here: false,
                }),
                _ => Status::Valid,
            };
            tickets.insert(
                id.to_owned(),
                Ticket {
                    order: ticket["orderId"].as_str().unwrap_or_default().to_owned(),
                    seat: ticket["seat"].as_str().unwrap_or_default().to_owned(),
                    status,
                    out: ticket["out"] == true,
                },
            );
        }
        Ok(ShowCopy {
            show_id,
            title: show["title"].as_str().unwrap_or_default().to_owned(),
            starts_at: show["startsAt"].as_str().map(str::to_owned),
            verifier,
            tickets,
        })
    }

    /// Tickets sold (not refunded) and admitted, as far as this scanner knows.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let mut sold = 0;
        let mut admitted = 0;
        for ticket in self.tickets.values() {
            match ticket.status {
                Status::Refunded => {}
                Status::Valid => sold += 1,
                Status::Admitted(_) => {
                    sold += 1;
                    admitted += 1;
                }
            }
        }
        (sold, admitted)
    }

    /// The pass in `code`, if this venue signed it.
    pub(crate) fn read(&self, code: &str) -> Result<Pass, PassError> {
        self.verifier.verify(code)
    }

    /// What to do with `code` at `now`, from the copy alone.
    pub(crate) fn decide(&self, code: &str, now: Millis) -> Decision {
        let pass = match self.read(code) {
            Ok(pass) => pass,
            Err(forged) => return Decision::Forged(forged),
        };
        match pass.scope {
            Scope::Show { show, .. } if show.to_string() == self.show_id => {}
            _ => return Decision::WrongShow(pass),
        }
        if let Err(outside) = pass.window.check(now) {
            return Decision::NotValidNow(pass, outside);
        }
        let Some(ticket) = self.tickets.get(&pass.ticket.to_string()) else {
            return Decision::Admit(pass, false);
        };
        if ticket.order != pass.order.to_string() {
            return Decision::NoSale(pass);
        }
        match &ticket.status {
            Status::Refunded => Decision::Refunded(pass),
            Status::Admitted(_) if ticket.out => Decision::Readmit(pass),
            Status::Admitted(seen) => Decision::AlreadyAdmitted(pass, seen.clone()),
            Status::Valid => Decision::Admit(pass, true),
        }
    }

    /// Records that this scanner let `pass`'s holder in at `at`, offline; what to write down.
    pub(crate) fn admit_here(&mut self, pass: &Pass, at: Millis, gate: &str) -> Learned {
        let learned = Learned {
            ticket_id: pass.ticket.to_string(),
            order_id: pass.order.to_string(),
            seat: String::new(),
            admitted: Some(Seen {
                at: at.to_iso(),
                gate: gate.to_owned(),
                offline: true,
                here: true,
            }),
        };
        self.learn(&learned);
        learned
    }

    /// Takes in what became of a ticket. A refund stands; of two admissions the one known first
    /// stays (the node keeps the first too).
    pub(crate) fn learn(&mut self, learned: &Learned) {
        let ticket = self
            .tickets
            .entry(learned.ticket_id.clone())
            .or_insert_with(|| Ticket {
                order: learned.order_id.clone(),
                seat: learned.seat.clone(),
                status: Status::Valid,
                out: false,
            });
        if ticket.seat.is_empty() {
            ticket.seat.clone_from(&learned.seat);
        }
        if learned.admitted.is_some() {
            ticket.out = false;
        }
        match (&ticket.status, &learned.admitted) {
            (Status::Refunded, _) | (Status::Admitted(_), Some(_)) => {}
            (_, None) => ticket.status = Status::Refunded,
            (Status::Valid, Some(seen)) => ticket.status = Status::Admitted(seen.clone()),
        }
    }

    /// The decision as the screen shows it: the node's verdict form (`result`, `message`, the
    /// ticket, show and seat), marked `local` (decided on this computer).
    pub(crate) fn verdict_json(&self, decision: &Decision) -> Value {
        let pass = match decision {
            Decision::Forged(why) => {
                return json!({
                    "result": "forged",
                    "message": format!("Not a valid pass of this venue: {why}"),
                    "local": true,
                });
            }
            Decision::WrongShow(pass)
            | Decision::NotValidNow(pass, _)
            | Decision::NoSale(pass)
            | Decision::Refunded(pass)
            | Decision::AlreadyAdmitted(pass, _)
            | Decision::Admit(pass, _)
            | Decision::Readmit(pass) => pass,
        };
        let (result, message) = match decision {
            Decision::Forged(_) => ("forged", String::new()),
            Decision::WrongShow(_) => ("wrong-show", "Not for this show".to_owned()),
            Decision::NotValidNow(pass, OutsideWindow::Early) => (
                "not-valid-now",
                format!("Not valid yet: from {}", pass.window.from.to_iso()),
            ),
            Decision::NotValidNow(pass, OutsideWindow::Late) => (
                "not-valid-now",
                format!(
                    "No longer valid: ended {}",
                    pass.window.until.map(Millis::to_iso).unwrap_or_default()
                ),
            ),
            Decision::NoSale(_) => (
                "not-valid-now",
                "No sale of this ticket is on record at this venue".to_owned(),
            ),
            Decision::Refunded(_) => (
                "refunded",
                "Refunded: this ticket's money was given back".to_owned(),
            ),
            Decision::AlreadyAdmitted(_, seen) => (
                "already-admitted",
                format!(
                    "Already admitted at {} at gate {}{}",
                    clock_time(&seen.at),
                    seen.gate,
                    if seen.here { " (by this scanner)" } else { "" }
                ),
            ),
            Decision::Admit(_, true) => ("admitted", "Admitted".to_owned()),
            Decision::Admit(_, false) => (
                "admitted",
                "Admitted (sold after this computer's copy was taken)".to_owned(),
            ),
            Decision::Readmit(_) => ("admitted", "Admitted again (re-entry)".to_owned()),
        };
        let ticket_id = pass.ticket.to_string();
        let mut json = json!({
            "result": result,
            "message": message,
            "ticketId": ticket_id,
            "orderId": pass.order.to_string(),
            "local": true,
        });
        if let Scope::Show { show, .. } = pass.scope {
            json["showId"] = json!(show.to_string());
            if show.to_string() == self.show_id {
                json["title"] = json!(self.title);
            }
        }
        if let Some(ticket) = self.tickets.get(&ticket_id)
            && !ticket.seat.is_empty()
        {
            json["seat"] = json!(ticket.seat);
        }
        match decision {
            Decision::AlreadyAdmitted(_, seen) => {
                json["admittedAt"] = json!(seen.at);
                json["gate"] = json!(seen.gate);
            }
            Decision::NotValidNow(pass, _) => {
                json["validFrom"] = json!(pass.window.from.to_iso());
                if let Some(until) = pass.window.until {
                    json["validUntil"] = json!(until.to_iso());
                }
            }
            _ => {}
        }
        json
    }

    /// The seat of a ticket, when the copy names it.
    pub(crate) fn seat(&self, ticket_id: &str) -> Option<&str> {
        self.tickets
            .get(ticket_id)
            .map(|t| t.seat.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// `HH:MM:SS UTC` of an ISO time, as the node says it.
pub(crate) fn clock_time(iso: &str) -> String {
    format!("{} UTC", iso.get(11..19).unwrap_or(iso))
}
