//! A JSON array answered in pieces as its items are read, instead of built whole in memory: what
//! `GET /api/tickets` sends, however many tickets there are.
//!
//! A blocking thread reads the items (from one redb read transaction, so the list is one
//! consistent snapshot) and writes them into pieces of about `PIECE_BYTES`; at most
//! `PIECES_IN_FLIGHT` pieces wait for the client, so memory per reader stays small. The bytes are
//! exactly what serializing the whole array at once gives (`[`, items joined by `,`, `]`).
//!
//! The first piece decides the status: a store that fails before anything was sent is the usual
//! 500. A failure later can only cut the body short (the client sees an incomplete array). The
//! reading thread ends when the array is done, when the client goes away, when the client takes
//! no piece for `STALL_LIMIT`, or after `TOTAL_LIMIT` (a slow reader must not hold the snapshot,
//! and so the store's old pages, for ever).

use std::io;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tracing::warn;

use crate::actions::ApiError;

/// About how many bytes one piece holds.
const PIECE_BYTES: usize = 32 * 1024;
/// Pieces written but not yet taken by the client.
const PIECES_IN_FLIGHT: usize = 4;
/// Longest the client may leave a piece untaken.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// Longest one answer may take in all.
const TOTAL_LIMIT: Duration = Duration::from_secs(600);

type Piece = Result<Bytes, io::Error>;

/// Answers with the JSON array of the items `read` visits (on a blocking thread). `read` calls its
/// argument once per item, stopping when it answers `false`.
pub(crate) async fn stream<R>(read: R) -> Result<Response, ApiError>
where
    R: FnOnce(&mut dyn FnMut(&dyn ErasedItem) -> bool) -> Result<(), redb::Error> + Send + 'static,
{
    let (pieces_tx, mut pieces_rx) = mpsc::channel::<Piece>(PIECES_IN_FLIGHT);
    let runtime = Handle::current();
    // Owned by the answer: it ends with it (see above), and the runtime waits for it at exit.
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + TOTAL_LIMIT;
        let send = |piece: Piece| {
            let limit = STALL_LIMIT.min(deadline.saturating_duration_since(Instant::now()));
            runtime
                .block_on(pieces_tx.send_timeout(piece, limit))
                .is_ok()
        };
        let mut array = Pieces::new(PIECE_BYTES, send);
        let read = read(&mut |item| array.push(item));
        match read {
            Ok(()) => array.finish(),
            Err(e) => {
                warn!(error = %e, "reading a streamed list failed");
                array.fail(io::Error::other(e.to_string()));
            }
        }
    });
    let first = match pieces_rx.recv().await {
        Some(Ok(piece)) => piece,
        Some(Err(e)) => return Err(ApiError::Internal(e.to_string())),
        None => return Err(ApiError::Internal("a streamed list ended early".into())),
    };
    let rest = stream::unfold(pieces_rx, |mut pieces_rx| async move {
        pieces_rx.recv().await.map(|piece| (piece, pieces_rx))
    });
    // Fused: a body layer (compression) may poll again after the end, which an unfold forbids.
    let pieces = stream::once(async { Ok::<_, io::Error>(first) })
        .chain(rest)
        .fuse();
    let body = Body::from_stream(pieces);
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Something serializable, behind a reference the reading closure can take.
pub(crate) trait ErasedItem {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

impl<T: Serialize> ErasedItem for T {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
}

/// The array's bytes, cut into pieces handed to `send` (which answers whether to go on).
struct Pieces<S: FnMut(Piece) -> bool> {
    buffer: Vec<u8>,
    piece_bytes: usize,
    items: usize,
    send: S,
    /// The client went away (or stalled); nothing more is sent.
    stopped: bool,
}

impl<S: FnMut(Piece) -> bool> Pieces<S> {
    fn new(piece_bytes: usize, send: S) -> Self {
        let mut buffer = Vec::with_capacity(piece_bytes + 1024);
        buffer.push(b'[');
        Pieces {
            buffer,
            piece_bytes,
            items: 0,
            send,
            stopped: false,
        }
    }

    /// Adds an item; `false` when the answer should stop (client gone, or the item would not
    /// serialize, which ends the body short).
    fn push(&mut self, item: &dyn ErasedItem) -> bool {
        if self.stopped {
            return false;
        }
        if self.items > 0 {
            self.buffer.push(b',');
        }
        self.items += 1;
        if let Err(e) = item.write_json(&mut self.buffer) {
            self.fail(io::Error::other(e));
            return false;
        }
        if self.buffer.len() >= self.piece_bytes {
            let piece = std::mem::replace(
                &mut self.buffer,
                Vec::with_capacity(self.piece_bytes + 1024),
            );
            self.stopped = !(self.send)(Ok(Bytes::from(piece)));
        }
        !self.stopped
    }

    /// Closes the array and sends what is left.
    fn finish(mut self) {
        if !self.stopped {
            self.buffer.push(b']');
            let piece = std::mem::take(&mut self.buffer);
            (self.send)(Ok(Bytes::from(piece)));
        }
    }

    /// Ends the body with an error (the client sees it cut short).
    fn fail(&mut self, error: io::Error) {
        if !self.stopped {
            self.stopped = true;
            (self.send)(Err(error));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pieces_of(items: &[Value], piece_bytes: usize) -> Vec<Bytes> {
        let mut sent = Vec::new();
        let mut array = Pieces::new(piece_bytes, |piece: Piece| {
            sent.push(piece.unwrap());
            true
        });
        for item in items {
            assert!(array.push(item));
        }
        array.finish();
        sent
    }

    #[test]
    fn the_pieces_join_into_exactly_the_whole_arrays_json() {
        let items: Vec<Value> = (0..50)
            .map(|n| json!({ "title": format!("T{n} \"quoted\" ü"), "price": n, "id": n }))
            .collect();
        let whole = serde_json::to_vec(&Value::Array(items.clone())).unwrap();
        for piece_bytes in [1, 64, 500, 1 << 20] {
            let pieces = pieces_of(&items, piece_bytes);
            assert_eq!(pieces.concat(), whole, "pieces of {piece_bytes}");
            if piece_bytes < whole.len() / 2 {
                assert!(pieces.len() > 1, "several pieces of {piece_bytes}");
            }
        }
        assert_eq!(pieces_of(&[], 64).concat(), b"[]");
    }

    #[test]
    fn a_client_gone_stops_the_reading() {
        let mut sends = 0;
        let mut array = Pieces::new(1, |_: Piece| {
            sends += 1;
            false
        });
        assert!(!array.push(&json!(1)));
        assert!(!array.push(&json!(2)));
        array.finish();
        assert_eq!(sends, 1);
    }
}
