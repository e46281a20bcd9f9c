//! Email: a paid order's tickets sent to the address its buyer gives, through the SMTP relay
//! `--smtp-url` names. A kiosk's guest has no account to find them in later, so the kiosk offers
//! it; without a relay nothing is offered.
//!
//! Invariants:
//! - at most [`PER_ORDER`] emails per order, so a public screen cannot be made to send mail in bulk;
//! - the relay's answer is waited for: the page says "sent" only once the relay took the message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use tix_core::ids::OrderId;

/// Most emails one order's tickets may be sent in.
pub const PER_ORDER: u32 = 3;
/// How long the relay may take to take a message.
const RELAY_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("That is not an email address we can send to.")]
    BadAddress,
    #[error("These tickets have been emailed {PER_ORDER} times already.")]
    TooMany,
    #[error("We could not send the email just now; your tickets are on this page.")]
    Relay(String),
}

/// What is sent: a subject and a plain-text body.
pub struct Letter {
    pub subject: String,
    pub body: String,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sent: Mutex<HashMap<OrderId, u32>>,
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:port`, `smtps://user:password@host`, `smtp://host?tls=required`)
    /// sending as `from` (`Venue Tickets <tickets@venue.example>`).
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp-url is not an SMTP URL: {e}"))?
            .timeout(Some(RELAY_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("--mail-from {from:?} is not an address: {e}"))?;
        Ok(Mailer {
            transport,
            from,
            sent: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `letter` about `order` to `to`, counting it against the order's allowance.
    pub async fn send(&self, order: OrderId, to: &str, letter: Letter) -> Result<(), MailError> {
        let to: Mailbox = to.trim().parse().map_err(|_| MailError::BadAddress)?;
        self.take_one(order)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body)
            .map_err(|e| MailError::Relay(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.give_back(order);
                tracing::warn!(error = %e, "the SMTP relay did not take an email");
                Err(MailError::Relay(e.to_string()))
            }
        }
    }

    fn take_one(&self, order: OrderId) -> Result<(), MailError> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let count = sent.entry(order).or_default();
        if *count >= PER_ORDER {
            return Err(MailError::TooMany);
        }
        *count += 1;
        Ok(())
    }

    fn give_back(&self, order: OrderId) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = sent.get_mut(&order) {
            *count = count.saturating_sub(1);
        }
    }
}
