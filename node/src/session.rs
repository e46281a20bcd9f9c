//! Sessions: the seed app's cookie (`session` = base64 of `{"jwt": ...}`) carrying an HS256 JWT.
//!
//! The JWT holds `id`, `email`, `iat` like the seed's, plus `exp`: sessions end. A cookie that does not
//! decode or verify is treated as no session at all, as the seed's `currentUser` middleware does; so
//! is one whose session was ended by signing out (kept in the auth store, and here in memory, until
//! it would have expired).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use tix_core::auth::{EndedSession, User};
use tix_core::ids::UserId;
use tix_core::time::Millis;

pub const COOKIE_NAME: &str = "session";

/// Clears the session; `SameSite=Lax` like the session itself.
pub const SIGNED_OUT_COOKIE: &str =
    "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax";

/// The signed-in user as the session says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub id: UserId,
    pub email: String,
    pub iat: u64,
    pub exp: u64,
}

impl Claims {
    /// This session, as signing out of it writes it down.
    pub fn ended(&self) -> EndedSession {
        EndedSession {
            user: self.id,
            iat: self.iat,
            exp: self.exp,
        }
    }
}

pub struct Sessions {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    /// Sessions signed out of before their expiry: (user, iat) → exp.
    ended: Mutex<HashMap<(UserId, u64), u64>>,
    /// Cookie values that verified, with what they say: a session's cookie comes with every request
    /// it makes, and decoding and verifying it again each time cost more than the rest of a small
    /// request. Only cookies that verified are kept; expiry and sign-out are checked on every use,
    /// as for a cookie seen for the first time. Emptied when it holds `VERIFIED_CAP`.
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

/// Most cookies `Sessions::verified` keeps.
const VERIFIED_CAP: usize = 4096;

#[derive(Serialize, Deserialize)]
struct CookieBody {
    jwt: String,
}

impl Sessions {
    pub fn new(secret: &[u8], ttl: Duration) -> Sessions {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.required_spec_claims = ["exp".to_string()].into_iter().collect();
        Sessions {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            ended: Mutex::default(),
            verified: Mutex::default(),
        }
    }

    /// Refuses `session` from now on (its sign-out is written down by the caller); forgets ended
    /// sessions that have expired by `now`.
    pub fn end(&self, session: EndedSession, now: Millis) {
        let now_secs = now.0 / 1000;
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.retain(|_, exp| *exp > now_secs);
        ended.insert((session.user, session.iat), session.exp);
    }

    fn is_ended(&self, claims: &Claims) -> bool {
        self.is_ended_key(claims.id, claims.iat)
    }

    fn is_ended_key(&self, user: UserId, iat: u64) -> bool {
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.contains_key(&(user, iat))
    }

    /// The cookie value for a user signing in at `now`.
    pub fn issue(&self, user: &User, now: Millis) -> String {
        let mut iat = now.0 / 1000;
        // A session is named by its user and second: one signed out of in this same second must
        // not take the new one with it.
        while self.is_ended_key(user.id, iat) {
            iat += 1;
        }
        let claims = Claims {
            id: user.id,
            email: user.email.clone(),
            iat,
            exp: iat + self.ttl.as_secs(),
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        STANDARD.encode(serde_json::to_vec(&CookieBody { jwt }).expect("cookie body serializes"))
    }

    /// The valid session a request's `Cookie` headers carry, if any.
    pub fn from_headers(&self, headers: &HeaderMap) -> Option<Claims> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|cookies| self.read(cookies))
    }

    /// The `Set-Cookie` value that signs `user` in: `HttpOnly`, `SameSite=Lax` (so no other
    /// site's form can act with it), and `Secure` when the request came over HTTPS.
    pub fn cookie(&self, user: &User, now: Millis, headers: &HeaderMap) -> HeaderValue {
        let value = self.issue(user, now);
        // Browsers send a Secure cookie only over HTTPS; a TLS-terminating proxy tells us so.
        let secure = headers
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
        let cookie = if secure {
            format!("{COOKIE_NAME}={value}; path=/; secure; httponly; samesite=lax")
        } else {
            format!("{COOKIE_NAME}={value}; path=/; httponly; samesite=lax")
        };
        HeaderValue::from_str(&cookie).expect("base64 cookie values are valid header text")
    }

    /// The session a `Cookie` header carries, if it carries a valid one.
    pub fn read(&self, cookie_header: &str) -> Option<Claims> {
        let value = cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.trim_matches('"'))?;
        let claims = match self.seen(value) {
            Some(claims) => claims,
            None => self.verify(value)?,
        };
        // `verify` checks the expiry only when the cookie is first seen; a remembered cookie's is
        // checked here.
        let expired = claims.exp < jsonwebtoken::get_current_timestamp();
        (!expired && !self.is_ended(&claims)).then_some(claims)
    }

    /// What a cookie value that verified before says.
    fn seen(&self, value: &str) -> Option<Claims> {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified.get(value).cloned()
    }

    /// Decodes and verifies a cookie value (signature, expiry), remembering it if it verifies.
    fn verify(&self, value: &str) -> Option<Claims> {
        let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(value).ok())?;
        let body: CookieBody = serde_json::from_slice(&bytes).ok()?;
        let claims = jsonwebtoken::decode::<Claims>(&body.jwt, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_CAP {
            verified.clear();
        }
        verified.insert(value.into(), claims.clone());
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "5f8d0d55b54764421b7156c9".parse().unwrap(),
            email: "a@b.co".into(),
            password_hash: String::new(),
            staff: false,
            door: false,
        }
    }

    fn now() -> Millis {
        tix_core::time::Millis::from_system_time(std::time::SystemTime::now())
    }

    #[test]
    fn an_issued_session_reads_back() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(3600));
        let cookie = sessions.issue(&user(), now());
        let claims = sessions
            .read(&format!("other=1; session={cookie}"))
            .unwrap();
        assert_eq!(claims.id, user().id);
        assert_eq!(claims.email, "a@b.co");
    }

    #[test]
    fn an_ended_session_is_refused_and_a_new_one_in_the_same_second_is_not() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(3600));
        let at = now();
        let first = sessions.issue(&user(), at);
        let claims = sessions.read(&format!("session={first}")).unwrap();
        sessions.end(claims.ended(), at);
        assert_eq!(sessions.read(&format!("session={first}")), None);
        let second = sessions.issue(&user(), at);
        assert!(sessions.read(&format!("session={second}")).is_some());
    }

    #[test]
    fn tampered_foreign_or_expired_sessions_are_no_sessions() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(3600));
        let other = Sessions::new(b"another secret", Duration::from_secs(3600));
        assert_eq!(
            sessions.read(&format!("session={}", other.issue(&user(), now()))),
            None
        );
        let mut cookie = sessions.issue(&user(), now());
        cookie.replace_range(10..11, if &cookie[10..11] == "A" { "B" } else { "A" });
        assert_eq!(sessions.read(&format!("session={cookie}")), None);
        let long_ago = Millis(now().0 - 7_200_000);
        assert_eq!(
            sessions.read(&format!("session={}", sessions.issue(&user(), long_ago))),
            None
        );
        assert_eq!(sessions.read("session=%%%"), None);
        assert_eq!(sessions.read(""), None);
        assert!(
            sessions.verified.lock().unwrap().is_empty(),
            "no cookie that failed is remembered"
        );
    }

    #[test]
    fn a_remembered_cookie_still_expires_and_still_ends() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(2));
        let cookie = format!("session={}", sessions.issue(&user(), now()));
        let claims = sessions.read(&cookie).expect("fresh");
        assert_eq!(sessions.read(&cookie), Some(claims.clone()), "read again");
        assert_eq!(sessions.verified.lock().unwrap().len(), 1);
        // Past its `exp` (two seconds after the second it was issued in).
        std::thread::sleep(Duration::from_millis(3100));
        assert_eq!(sessions.read(&cookie), None, "expired while remembered");

        let sessions = Sessions::new(b"secret", Duration::from_secs(3600));
        let cookie = format!("session={}", sessions.issue(&user(), now()));
        let claims = sessions.read(&cookie).expect("fresh");
        sessions.end(claims.ended(), now());
        assert_eq!(sessions.read(&cookie), None, "signed out while remembered");
    }

    #[test]
    fn remembered_cookies_are_bounded() {
        let sessions = Sessions::new(b"secret", Duration::from_secs(3600));
        let at = now();
        for n in 0..VERIFIED_CAP + 10 {
            let mut id = [0u8; 12];
            id[4..].copy_from_slice(&(n as u64).to_be_bytes());
            let user = User {
                id: UserId::from_bytes(id),
                ..user()
            };
            let cookie = format!("session={}", sessions.issue(&user, at));
            assert!(sessions.read(&cookie).is_some());
        }
        let kept = sessions.verified.lock().unwrap().len();
        assert!((1..=VERIFIED_CAP).contains(&kept), "{kept} kept");
    }
}
