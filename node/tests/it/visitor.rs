//! A browser's side of the storefront over plain HTTP: its CSRF cookie and token, its session,
//! forms sent urlencoded or multipart, pages read back with their status and headers.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

/// A browser-like visitor without a browser: keeps the CSRF cookie and the session cookie.
pub(crate) struct Visitor {
    http: reqwest::Client,
    base: String,
    pub(crate) csrf: String,
    pub(crate) session: Option<String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) html: String,
}

impl Visitor {
    pub(crate) async fn arrive(base: &str) -> Visitor {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let first = http.get(format!("{base}/")).send().await.unwrap();
        let cookie = first.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            cookie.ends_with("; path=/; httponly; samesite=strict"),
            "{cookie}"
        );
        let csrf = cookie
            .trim_start_matches("tix_csrf=")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Visitor {
            http,
            base: base.to_owned(),
            csrf,
            session: None,
        }
    }

    /// Keeps the session cookie `page` set (a kiosk's guest is signed in by their first order).
    pub(crate) fn keep_session(&mut self, page: &Page) {
        let cookie = page.headers[SET_COOKIE].to_str().unwrap();
        self.session = Some(cookie.split(';').next().unwrap().to_owned());
    }

    pub(crate) fn cookies(&self) -> String {
        let mut cookies = format!("tix_csrf={}", self.csrf);
        if let Some(session) = &self.session {
            cookies.push_str("; ");
            cookies.push_str(session);
        }
        cookies
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookies())
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    /// Posts a form with `fields` (the CSRF field is added unless `token` says otherwise).
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        token: Option<&str>,
        origin: Option<&str>,
    ) -> Page {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("_csrf", token.unwrap_or(&self.csrf));
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookies())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.finish());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn sign_up(&mut self, email: &str) {
        let page = self
            .post(
                "/auth/signup",
                &[("email", email), ("password", "secret1"), ("next", "/")],
                None,
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        let cookie = page.headers[SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("httponly; samesite=lax"), "{cookie}");
        self.session = Some(cookie.split(';').next().unwrap().to_owned());
    }
}

impl Visitor {
    /// Posts `fields` as `multipart/form-data`, a field named `*File` as a file part.
    pub(crate) async fn post_multipart(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let boundary = "----tix-test-boundary-7d3f";
        let mut body = String::new();
        let all = std::iter::once(("_csrf", self.csrf.as_str())).chain(fields.iter().copied());
        for (name, value) in all {
            body.push_str(&format!("--{boundary}\r\n"));
            if name.ends_with("File") {
                body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"map.csv\"\r\nContent-Type: text/csv\r\n\r\n"
                ));
            } else {
                body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                ));
            }
            body.push_str(value);
            body.push_str("\r\n");
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookies())
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }
}
