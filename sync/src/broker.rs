//! Where the broker is and who we are to it: `mqtt://USER:PASS@HOST:PORT`.

use std::fmt;
use std::str::FromStr;

/// The default MQTT port, used when the URL names none.
const DEFAULT_PORT: u16 = 1883;

/// A parsed broker URL. Only plain `mqtt://` is accepted: the broker is expected on the venue's own
/// network or behind a TLS-terminating tunnel, and credentials travel as given.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    /// Username and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerUrlError {
    #[error("broker URL is not a URL: {0}")]
    Syntax(String),
    #[error("broker URL must start with mqtt:// (found {0}://)")]
    Scheme(String),
    #[error("broker URL names no host")]
    NoHost,
    #[error("broker URL must not carry a path, query or fragment")]
    Extra,
    #[error("broker URL has a username without a password, or the reverse")]
    HalfCredentials,
}

impl FromStr for BrokerUrl {
    type Err = BrokerUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(s).map_err(|e| BrokerUrlError::Syntax(e.to_string()))?;
        if url.scheme() != "mqtt" {
            return Err(BrokerUrlError::Scheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(BrokerUrlError::NoHost),
        };
        if host.is_empty() {
            return Err(BrokerUrlError::NoHost);
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(BrokerUrlError::Extra);
        }
        let decode = |part: &str| {
            url::form_urlencoded::parse(format!("x={}", part.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) if !user.is_empty() => Some((decode(user), decode(pass))),
            _ => return Err(BrokerUrlError::HalfCredentials),
        };
        Ok(BrokerUrl {
            host,
            port: url.port().unwrap_or(DEFAULT_PORT),
            credentials,
        })
    }
}

/// Shown in logs and errors: never the password.
impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            Some((user, _)) => write!(f, "mqtt://{user}:***@{}:{}", self.host, self.port),
            None => write!(f, "mqtt://{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_urls_parse_and_hide_the_password() {
        let url: BrokerUrl = "mqtt://main-hall:s%40cret%2Bx@127.0.0.1:18830"
            .parse()
            .unwrap();
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 18830);
        assert_eq!(
            url.credentials,
            Some(("main-hall".to_owned(), "s@cret+x".to_owned()))
        );
        assert_eq!(url.to_string(), "mqtt://main-hall:***@127.0.0.1:18830");
        assert!(!format!("{url:?}").contains("cret"));
    }

    #[test]
    fn the_port_defaults_and_credentials_are_optional() {
        let url: BrokerUrl = "mqtt://broker.local".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("broker.local", 1883));
        assert_eq!(url.credentials, None);
        let v6: BrokerUrl = "mqtt://[::1]:1884".parse().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 1884));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |s: &str| s.parse::<BrokerUrl>().unwrap_err();
        assert!(matches!(err("broker:1883"), BrokerUrlError::Scheme(_)));
        assert!(matches!(err("http://h:1"), BrokerUrlError::Scheme(_)));
        assert!(matches!(err("not a url"), BrokerUrlError::Syntax(_)));
        assert_eq!(err("mqtt://h:1/topic"), BrokerUrlError::Extra);
        assert_eq!(err("mqtt://h:1?x=1"), BrokerUrlError::Extra);
        assert_eq!(err("mqtt://user@h:1"), BrokerUrlError::HalfCredentials);
        assert!(matches!(err("mqtt://h:99999"), BrokerUrlError::Syntax(_)));
    }
}
