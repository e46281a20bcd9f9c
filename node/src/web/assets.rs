//! The storefront's stylesheet and script, compiled into the binary from `web/static/` and served
//! under names that carry a hash of their content, so a browser (or a kiosk's cache) keeps them for
//! a year and still never runs a stale script after an upgrade.
//!
//! The plain names (`/static/app.css`, `/static/app.js`) stay, cached for an hour, for pages saved
//! before the names carried hashes.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A compiled-in file and the name it is served under.
pub(crate) struct Asset {
    /// `/static/app.<hash>.css`, what pages link to.
    pub(crate) path: String,
    plain: &'static str,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(plain: &'static str, content_type: &'static str, body: &'static str) -> Asset {
        let digest = Sha256::digest(body.as_bytes());
        let (stem, extension) = plain.rsplit_once('.').unwrap_or((plain, ""));
        Asset {
            path: format!("/static/{stem}.{}.{extension}", hex::encode(&digest[..6])),
            plain,
            content_type,
            body,
        }
    }

    fn hashed_name(&self) -> &str {
        self.path.trim_start_matches("/static/")
    }
}

pub(crate) static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/static/app.css"),
    )
});

pub(crate) static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/static/app.js"),
    )
});

/// A hashed name never changes content: a year, and no revalidation.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// A plain name changes with the binary.
const HOUR: &str = "public, max-age=3600";

/// `GET /static/{file}`: an asset by its hashed or plain name.
pub(crate) async fn file(Path(file): Path<String>) -> Response {
    for asset in [&*CSS, &*JS] {
        let cache = if file == asset.hashed_name() {
            FOREVER
        } else if file == asset.plain {
            HOUR
        } else {
            continue;
        };
        return (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, cache),
            ],
            asset.body,
        )
            .into_response();
    }
    super::not_found()
}
