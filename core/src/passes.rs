//! Signed passes: the code on a sold ticket that lets its holder in, signed with the venue node's
//! Ed25519 key so that nobody without the key can make or alter one.
//!
//! The wire form is pinned (a door scanner, the box office and printed tickets rely on it):
//! `TIX2:` followed by the RFC 4648 base32 (no padding) of 118 bytes:
//!
//! | bytes    | what                                                      |
//! |----------|-----------------------------------------------------------|
//! | 0        | format version, 1                                         |
//! | 1..5     | key id: the first 4 bytes of SHA-256 of the public key    |
//! | 5..17    | ticket id                                                 |
//! | 17..29   | order id                                                  |
//! | 29       | scope: 0 a listing of the marketplace, 1 a show's unit    |
//! | 30..42   | show id (zeros for a listing)                             |
//! | 42..46   | the unit's index in the show, big-endian (0 for a listing)|
//! | 46..50   | valid from, seconds since the Unix epoch, big-endian      |
//! | 50..54   | valid until, likewise; `u32::MAX` for no end              |
//! | 54..118  | Ed25519 signature of `tix-pass\0` ++ bytes 0..54          |
//!
//! Base32 in capitals keeps the code in a QR code's compact alphanumeric mode and survives a USB
//! scanner typing it on any keyboard layout. Signing is deterministic: the same pass always gives
//! the same code, so codes are made when shown and never stored. This module has no randomness:
//! the key's seed is passed in.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::ids::{OrderId, ShowId, TicketId};
use crate::time::Millis;

/// What every code starts with.
pub const PREFIX: &str = "TIX2:";
const VERSION: u8 = 1;
const SIGNED_LEN: usize = 54;
const LEN: usize = SIGNED_LEN + 64;
const CONTEXT: &[u8] = b"tix-pass\0";

/// What a pass admits to: a show's unit, or a listing of the marketplace (a ticket of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Show { show: ShowId, unit: u32 },
    Listing,
}

/// A pass's content: which ticket, of which order, for what, and when it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub ticket: TicketId,
    pub order: OrderId,
    pub scope: Scope,
    pub window: Window,
}

/// When a pass may be used; whole seconds (the code keeps no less).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Millis,
    /// `None`: no end.
    pub until: Option<Millis>,
}

impl Window {
    /// A window open at all times.
    pub const ALWAYS: Window = Window {
        from: Millis(0),
        until: None,
    };

    /// Whether `now` lies in the window: `Err(Early)` before it, `Err(Late)` after it.
    pub fn check(&self, now: Millis) -> Result<(), OutsideWindow> {
        if now < self.from {
            Err(OutsideWindow::Early)
        } else if self.until.is_some_and(|until| now > until) {
            Err(OutsideWindow::Late)
        } else {
            Ok(())
        }
    }

    /// The window as a code carries it: whole seconds.
    pub fn rounded(self) -> Window {
        Window {
            from: Millis(seconds(self.from) as u64 * 1000),
            until: self.until.map(|u| Millis(seconds(u) as u64 * 1000)),
        }
    }
}

/// Which side of its window a moment falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideWindow {
    Early,
    Late,
}

/// The first four bytes of SHA-256 of a public key: which key signed a pass.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a code is not a pass of this key. All of them mean "forged" at the door.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("the code does not start with {PREFIX}")]
    Prefix,
    #[error("the code is not base32 (A-Z, 2-7) after {PREFIX}")]
    Encoding,
    #[error("the code holds {0} bytes where a pass has {LEN}")]
    Length(usize),
    #[error("the code is of format version {0}, this node reads version {VERSION}")]
    Version(u8),
    #[error("the code is signed with key {0}, not this venue's key {1}")]
    OtherKey(KeyId, KeyId),
    #[error("the code's signature does not match its content")]
    Signature,
    #[error("the code names an unknown scope {0}")]
    Scope(u8),
}

/// The node's signing key.
pub struct PassKey {
    signing: SigningKey,
    verifier: PassVerifier,
}

impl PassKey {
    /// The key whose secret seed is `seed` (32 random bytes the node keeps).
    pub fn from_seed(seed: [u8; 32]) -> PassKey {
        let signing = SigningKey::from_bytes(&seed);
        let verifier = PassVerifier::new(signing.verifying_key());
        PassKey { signing, verifier }
    }

    pub fn verifier(&self) -> &PassVerifier {
        &self.verifier
    }

    /// The pass's code, `TIX2:...`.
    pub fn sign(&self, pass: &Pass) -> String {
        let mut bytes = [0u8; LEN];
        write_content(&mut bytes[..SIGNED_LEN], pass, self.verifier.id);
        let signature = self.signing.sign(&message(&bytes[..SIGNED_LEN]));
        bytes[SIGNED_LEN..].copy_from_slice(&signature.to_bytes());
        let mut code = String::with_capacity(PREFIX.len() + 189);
        code.push_str(PREFIX);
        code.push_str(&data_encoding::BASE32_NOPAD.encode(&bytes));
        code
    }
}

/// A public key that checks codes: the node's own, or a copy a scanner keeps.
#[derive(Clone)]
pub struct PassVerifier {
    key: VerifyingKey,
    id: KeyId,
}

impl PassVerifier {
    pub fn new(key: VerifyingKey) -> PassVerifier {
        let digest = Sha256::digest(key.as_bytes());
        let id = KeyId([digest[0], digest[1], digest[2], digest[3]]);
        PassVerifier { key, id }
    }

    /// The verifier of a public key given as 64 hex characters.
    pub fn from_hex(text: &str) -> Option<PassVerifier> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        VerifyingKey::from_bytes(&bytes).ok().map(PassVerifier::new)
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The public key as 64 lowercase hex characters.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// The pass in `code`, if this key signed it and nothing was changed since. Spaces and line
    /// ends around the code (a scanner's Enter) are ignored; so is the letters' case.
    pub fn verify(&self, code: &str) -> Result<Pass, PassError> {
        let code = code.trim();
        let body = code
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &code[PREFIX.len()..])
            .ok_or(PassError::Prefix)?;
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| PassError::Encoding)?;
        if bytes.len() != LEN {
            return Err(PassError::Length(bytes.len()));
        }
        if bytes[0] != VERSION {
            return Err(PassError::Version(bytes[0]));
        }
        let key = KeyId([bytes[1], bytes[2], bytes[3], bytes[4]]);
        if key != self.id {
            return Err(PassError::OtherKey(key, self.id));
        }
        let signature =
            Signature::from_slice(&bytes[SIGNED_LEN..]).map_err(|_| PassError::Signature)?;
        self.key
            .verify(&message(&bytes[..SIGNED_LEN]), &signature)
            .map_err(|_| PassError::Signature)?;
        read_content(&bytes[..SIGNED_LEN])
    }
}

fn message(content: &[u8]) -> Vec<u8> {
    [CONTEXT, content].concat()
}

fn write_content(out: &mut [u8], pass: &Pass, key: KeyId) {
    out[0] = VERSION;
    out[1..5].copy_from_slice(&key.0);
    out[5..17].copy_from_slice(pass.ticket.as_bytes());
    out[17..29].copy_from_slice(pass.order.as_bytes());
    let (kind, show, unit) = match pass.scope {
        Scope::Show { show, unit } => (1, *show.as_bytes(), unit),
        Scope::Listing => (0, [0; 12], 0),
    };
    out[29] = kind;
    out[30..42].copy_from_slice(&show);
    out[42..46].copy_from_slice(&unit.to_be_bytes());
    out[46..50].copy_from_slice(&seconds(pass.window.from).to_be_bytes());
    let until = pass.window.until.map_or(u32::MAX, seconds);
    out[50..54].copy_from_slice(&until.to_be_bytes());
}

fn read_content(bytes: &[u8]) -> Result<Pass, PassError> {
    let id = |range: std::ops::Range<usize>| -> [u8; 12] {
        bytes[range].try_into().expect("ids are 12 bytes")
    };
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let scope = match bytes[29] {
        0 => Scope::Listing,
        1 => Scope::Show {
            show: ShowId::from_bytes(id(30..42)),
            unit: number(42),
        },
        other => return Err(PassError::Scope(other)),
    };
    let until = number(50);
    Ok(Pass {
        ticket: TicketId::from_bytes(id(5..17)),
        order: OrderId::from_bytes(id(17..29)),
        scope,
        window: Window {
            from: Millis(number(46) as u64 * 1000),
            until: (until != u32::MAX).then(|| Millis(until as u64 * 1000)),
        },
    })
}

/// Whole seconds, clamped into what the code holds (until 2106).
fn seconds(at: Millis) -> u32 {
    (at.0 / 1000).min(u32::MAX as u64 - 1) as u32
}

impl Pass {
    /// This pass as its code will carry it (times in whole seconds).
    pub fn rounded(mut self) -> Pass {
        self.window = self.window.rounded();
        self
    }
}

#[cfg(test)]
mod tests;
