//! Fetching from peers: connect, read and total timeouts, no redirects, a body size cap, and a
//! few retries with exponential backoff and jitter that honour `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::domain::PeerErrorCode;

/// The largest response read from a peer.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
const ATTEMPTS: u32 = 3;
/// The longest `Retry-After` waited for within one sync; longer ones fail the sync.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
}

pub enum Fetched {
    Body(Vec<u8>),
    NotModified,
}

/// A failed fetch: its reason code and, in words, its detail for the peer's status line.
#[derive(Debug)]
pub struct FetchError {
    pub code: PeerErrorCode,
    pub message: String,
    retry: Option<Duration>,
}

impl FetchError {
    fn fatal(code: PeerErrorCode, message: impl Into<String>) -> Self {
        FetchError { code, message: message.into(), retry: None }
    }
    fn retry(code: PeerErrorCode, message: impl Into<String>, after: Duration) -> Self {
        FetchError { code, message: message.into(), retry: Some(after) }
    }
}

impl PeerClient {
    /// `read_timeout`: the longest silence while reading; connecting may take 3 s, a whole
    /// request three times the read timeout.
    pub fn new(read_timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .read_timeout(read_timeout)
            .timeout(read_timeout * 3)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ozg-registry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(PeerClient { http })
    }

    /// GET with retries for connection failures, 429 and 5xx.
    pub async fn get(&self, url: &str, if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.get_once(url, if_none_match).await {
                Ok(f) => return Ok(f),
                Err(e) => match e.retry {
                    Some(wait) if attempt < ATTEMPTS => {
                        let backoff = Duration::from_millis(200 * 2u64.pow(attempt - 1)) + jitter();
                        tokio::time::sleep(wait.max(backoff)).await;
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    async fn get_once(&self, url: &str, if_none_match: Option<&str>) -> Result<Fetched, FetchError> {
        let mut req = self.http.get(url).header("accept", "application/json");
        if let Some(tag) = if_none_match {
            req = req.header("if-none-match", tag);
        }
        let mut resp = req.send().await.map_err(|e| {
            let (code, message) = describe(&e);
            FetchError::retry(code, message, Duration::ZERO)
        })?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            return Err(FetchError::fatal(
                PeerErrorCode::Redirect,
                format!("HTTP {status}: redirects are not followed; register the final URL"),
            ));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::ZERO);
            if after > MAX_RETRY_AFTER {
                return Err(FetchError::fatal(
                    PeerErrorCode::HttpStatus,
                    format!("HTTP {status}, retry after {} s", after.as_secs()),
                ));
            }
            return Err(FetchError::retry(PeerErrorCode::HttpStatus, format!("HTTP {status}"), after));
        }
        if !status.is_success() {
            return Err(FetchError::fatal(PeerErrorCode::HttpStatus, format!("HTTP {status}")));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(FetchError::fatal(
                PeerErrorCode::Oversize,
                format!("the response is larger than {MAX_BODY} bytes"),
            ));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(FetchError::fatal(
                            PeerErrorCode::Oversize,
                            format!("the response is larger than {MAX_BODY} bytes"),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(Fetched::Body(body)),
                Err(e) => {
                    let (code, message) = describe(&e);
                    return Err(FetchError::retry(code, message, Duration::ZERO));
                }
            }
        }
    }
}

/// A short reason without the URL's query or internals.
fn describe(e: &reqwest::Error) -> (PeerErrorCode, String) {
    let (code, text) = if e.is_timeout() {
        (PeerErrorCode::Timeout, "timed out")
    } else if e.is_connect() {
        (PeerErrorCode::Unreachable, "connection failed")
    } else if e.is_body() || e.is_decode() {
        (PeerErrorCode::Unreachable, "the response body broke off")
    } else if e.is_request() {
        (PeerErrorCode::Unreachable, "the connection was reset")
    } else {
        (PeerErrorCode::Unreachable, "request failed")
    };
    (code, text.to_owned())
}

fn jitter() -> Duration {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    Duration::from_millis(u64::from(u16::from_le_bytes(b)) % 100)
}
