//! `DeskError`: what can go wrong between the counter and the node, in words staff can act on.
//!
//! It crosses to the window as `{kind, message, fields}`; the window decides how to show each kind.

use serde::Serialize;
use serde::ser::SerializeStruct;

/// One message of the node's error body, with the field it is about, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldMessage {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No node chosen yet (first start).
    #[error("choose a node to connect to first")]
    NotConnected,
    /// The address given is not usable.
    #[error("{0}")]
    BadAddress(String),
    /// The node did not answer: network down, node stopped.
    #[error("the node at {0} cannot be reached")]
    Unreachable(String),
    /// Signed out, or the session ended.
    #[error("please sign in")]
    NotSignedIn,
    /// Signed in, but the node says this user is not box-office staff.
    #[error("this account is not box-office staff; ask the venue's operator to grant it")]
    NotStaff,
    /// The node refused the request, with its messages (a rule, a validation).
    #[error("{}", .messages.first().map(|m| m.message.as_str()).unwrap_or("refused"))]
    Refused {
        status: u16,
        messages: Vec<FieldMessage>,
    },
    /// What was asked for by its number (an order, a show) is not on the node.
    #[error("{0}")]
    NotFound(String),
    /// Starting the standalone node, or reading and writing the app's settings, failed.
    #[error("{0}")]
    Local(String),
}

impl DeskError {
    pub fn kind(&self) -> &'static str {
        match self {
            DeskError::NotConnected => "notConnected",
            DeskError::BadAddress(_) => "badAddress",
            DeskError::Unreachable(_) => "unreachable",
            DeskError::NotSignedIn => "notSignedIn",
            DeskError::NotStaff => "notStaff",
            DeskError::Refused { .. } => "refused",
            DeskError::NotFound(_) => "notFound",
            DeskError::Local(_) => "local",
        }
    }
}

impl Serialize for DeskError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("DeskError", 3)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        let fields: &[FieldMessage] = match self {
            DeskError::Refused { messages, .. } => messages,
            _ => &[],
        };
        out.serialize_field("fields", fields)?;
        out.end()
    }
}
