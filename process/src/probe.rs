//! Talking to our own process on loopback, for the operator's commands that need the running
//! process rather than its files: `tix-node health` and `tix-hub health` (a container's health
//! check, with no shell or curl in the image) and `tix-hub venue adopt`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How long a call waits for the whole answer.
const DEADLINE: Duration = Duration::from_secs(3);

/// Where a server listening on `listen` is reached from the same host: an unspecified address
/// (`0.0.0.0`, `::`) is reached on loopback.
pub(crate) fn local_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `path` of the server listening on `listen` (with `bearer` as its token, if given); `Ok`
/// with what was checked when it answers 200, an error saying what happened otherwise.
pub async fn probe(listen: SocketAddr, path: &str, bearer: Option<&str>) -> Result<String, String> {
    let (status, _) = call(listen, "GET", path, bearer, None).await?;
    match status {
        200 => Ok(format!("http://{}{path}: 200 OK", local_address(listen))),
        status => Err(format!("http://{}{path}: {status}", local_address(listen))),
    }
}

/// Sends `method path` (with a JSON `body`, if given) to the server listening on `listen`; the
/// status and body of its answer, or an error that names the URL.
pub async fn call(
    listen: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let url = format!("http://{}{path}", local_address(listen));
    let fail = |e: &dyn std::fmt::Display| format!("{url}: {e}");
    let mut request = hyper::Request::builder().method(method).uri(url.as_str());
    if let Some(token) = bearer {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| fail(&e))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let exchange = async {
        let answer = client.request(request).await.map_err(|e| fail(&e))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .map_err(|_| format!("{url}: no answer within {DEADLINE:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_probed_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(local_address(any), "127.0.0.1:8080".parse().unwrap());
        let any6: SocketAddr = "[::]:8090".parse().unwrap();
        assert_eq!(local_address(any6), "[::1]:8090".parse().unwrap());
        let given: SocketAddr = "10.1.2.3:80".parse().unwrap();
        assert_eq!(local_address(given), given);
    }

    #[tokio::test]
    async fn nothing_listening_is_an_error_that_names_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = probe(addr, "/healthz", None).await.unwrap_err();
        assert!(error.contains(&format!("http://{addr}/healthz")), "{error}");
    }
}
