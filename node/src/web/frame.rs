//! What every page shares: who is visiting (session and CSRF token), the frame the layout draws
//! (navigation, kiosk, test mode), and the response headers every page carries.

use std::time::Instant;

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::session::Claims;
use crate::state::AppState;

use super::csrf;

/// The visitor of a page: their session, if any, and their CSRF token (new if they had none).
pub(crate) struct Visitor {
    pub(crate) user: Option<Claims>,
    pub(crate) csrf: String,
    fresh_csrf: bool,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = state.sessions.from_headers(&parts.headers);
        let (csrf, fresh_csrf) = match csrf::read(&parts.headers) {
            Some(token) => (token, false),
            None => (csrf::fresh(), true),
        };
        Ok(Visitor {
            user,
            csrf,
            fresh_csrf,
        })
    }
}

/// A signed-in visitor; anyone else is sent to sign in, and back to the page afterwards.
pub(crate) struct SignedIn {
    pub(crate) visitor: Visitor,
    pub(crate) user: Claims,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(visitor) = Visitor::from_request_parts(parts, state).await;
        match visitor.user.clone() {
            Some(user) => Ok(SignedIn { visitor, user }),
            None => Err(sign_in_first(&parts.uri)),
        }
    }
}

impl SignedIn {
    /// The signed-in visitor if their account holds `role`; else a sign-in redirect, or the
    /// page that says it is for staff.
    pub(crate) async fn with_role(
        parts: &mut Parts,
        state: &AppState,
        role: tix_core::auth::Role,
    ) -> Result<(Visitor, tix_core::auth::User), Response> {
        let SignedIn { visitor, user } = SignedIn::from_request_parts(parts, state).await?;
        match state.stores.auth.get(user.id) {
            Ok(Some(account)) if account.has(role) => Ok((visitor, account)),
            Ok(_) => Err(super::problem::PageError::StaffOnly.into_response()),
            Err(e) => Err(super::problem::PageError::from(e).into_response()),
        }
    }
}

/// The layout's data: the same for every page of one visit.
pub(crate) struct Frame {
    /// The signed-in user's email.
    pub(crate) user: Option<String>,
    /// The signed-in user is a kiosk's guest: "Done" ends the visit, there is no account to name.
    pub(crate) guest: bool,
    /// The signed-in user is staff: the navigation offers the manage pages.
    pub(crate) staff: bool,
    pub(crate) csrf: String,
    pub(crate) kiosk: bool,
    pub(crate) idle_seconds: u64,
    /// Payments go to the test gateway: no money moves, and the page says so.
    pub(crate) test_mode: bool,
    /// Where the stylesheet and the script are, under their content-hashed names.
    pub(crate) css: &'static str,
    pub(crate) js: &'static str,
}

impl Frame {
    /// The frame of a page shown without knowing the visitor (an error page).
    pub(crate) fn anonymous() -> Frame {
        Frame {
            user: None,
            guest: false,
            staff: false,
            csrf: String::new(),
            kiosk: false,
            idle_seconds: 60,
            test_mode: false,
            css: &super::assets::CSS.path,
            js: &super::assets::JS.path,
        }
    }
}

impl Visitor {
    pub(crate) fn frame(&self, state: &AppState) -> Frame {
        Frame {
            user: self.user.as_ref().map(|claims| claims.email.clone()),
            guest: self
                .user
                .as_ref()
                .is_some_and(|claims| tix_core::auth::is_guest_email(&claims.email)),
            staff: self.user.as_ref().is_some_and(
                |claims| matches!(state.stores.auth.get(claims.id), Ok(Some(user)) if user.staff),
            ),
            csrf: self.csrf.clone(),
            kiosk: state.storefront.kiosk,
            idle_seconds: state.storefront.kiosk_idle.as_secs().max(1),
            test_mode: state.gateway.mode() == "test",
            css: &super::assets::CSS.path,
            js: &super::assets::JS.path,
        }
    }

    /// Renders `template` as this visitor's page, setting their CSRF cookie if it is new.
    pub(crate) fn page<T: Template>(&self, status: StatusCode, template: &T) -> Response {
        self.page_sized(status, template, 0)
    }

    /// As [`Visitor::page`] for a page that carries `extra` bytes of markup drawn beforehand (a
    /// seat map): rendered into one buffer of the right size, not grown and copied on the way.
    pub(crate) fn page_sized<T: Template>(
        &self,
        status: StatusCode,
        template: &T,
        extra: usize,
    ) -> Response {
        let mut html = String::with_capacity(T::SIZE_HINT + extra);
        let rendered = template.render_into(&mut html).map(|()| html);
        let mut response = match rendered {
            Ok(html) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "page template failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
        if self.fresh_csrf {
            response
                .headers_mut()
                .append(header::SET_COOKIE, csrf::cookie(&self.csrf));
        }
        response
    }
}

/// A `303 See Other` to `to`: where a form goes after it did its work.
pub(crate) fn redirect(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Sends a signed-out visitor to sign in, and back to `uri` afterwards.
fn sign_in_first(uri: &Uri) -> Response {
    let back: String = url::form_urlencoded::byte_serialize(uri.path().as_bytes()).collect();
    redirect(&format!("/auth/signin?next={back}"))
}

/// Where to go after signing in: only a path on this site, never another site.
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The headers every storefront response carries: a Content-Security-Policy that allows only our
/// own scripts and styles (and Stripe's card form when it is in use), no framing, no sniffing, no
/// caching of personal pages, and how long the page took (`Server-Timing`).
pub(crate) async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let took = started.elapsed();
    let headers = response.headers_mut();
    let stripe =
        state.gateway.mode() != "test" && state.storefront.stripe_publishable_key.is_some();
    set(
        headers,
        "content-security-policy",
        content_security_policy(stripe),
    );
    set(headers, "x-content-type-options", "nosniff".into());
    set(headers, "referrer-policy", "same-origin".into());
    set(headers, "x-frame-options", "DENY".into());
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store".into());
    }
    set(
        headers,
        "server-timing",
        format!("app;dur={:.3}", took.as_secs_f64() * 1000.0),
    );
    response
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

pub(crate) fn content_security_policy(stripe: bool) -> String {
    let (script, frame, connect) = if stripe {
        (
            " https://js.stripe.com",
            "https://js.stripe.com https://hooks.stripe.com",
            " https://api.stripe.com",
        )
    } else {
        ("", "'none'", "")
    };
    format!(
        "default-src 'none'; script-src 'self'{script}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{connect}; frame-src {frame}; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A price as buyers read it: `$20.00`, `€7.50`, or `20.00 CHF`.
pub(crate) fn money(price: f64, currency: &str) -> String {
    let symbol = match currency {
        "usd" => Some("$"),
        "eur" => Some("€"),
        "gbp" => Some("£"),
        "inr" => Some("₹"),
        "jpy" => Some("¥"),
        _ => None,
    };
    match symbol {
        Some(symbol) => format!("{symbol}{price:.2}"),
        None => format!("{price:.2} {}", currency.to_uppercase()),
    }
}

/// An ISO time as a page shows it: `2026-12-31 20:00 UTC`.
pub(crate) fn when(iso: &str) -> String {
    match tix_core::time::Millis::parse_iso(iso) {
        Some(at) => at.readable(),
        None => iso.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/orders/abc")), "/orders/abc");
        for foreign in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "orders",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(foreign)), "/", "{foreign}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn prices_and_times_read_plainly() {
        assert_eq!(money(20.0, "usd"), "$20.00");
        assert_eq!(money(7.5, "chf"), "7.50 CHF");
        assert_eq!(when("2026-12-31T20:00:00.000Z"), "2026-12-31 20:00 UTC");
        assert_eq!(when("soon"), "soon");
    }

    proptest::proptest! {
        #[test]
        fn any_next_is_a_local_path(next in "\\PC{0,40}") {
            let path = local_path(Some(&next));
            proptest::prop_assert!(path.starts_with('/') && !path.starts_with("//"));
        }

        #[test]
        fn any_time_text_reads_without_panicking(
            iso in "\\PC{0,30}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z"
        ) {
            let _ = when(&iso);
        }
    }

    #[test]
    fn the_policy_allows_stripe_only_when_it_is_used() {
        let plain = content_security_policy(false);
        assert!(plain.contains("script-src 'self';"), "{plain}");
        assert!(!plain.contains("stripe"), "{plain}");
        let stripe = content_security_policy(true);
        assert!(stripe.contains("script-src 'self' https://js.stripe.com;"));
    }
}
