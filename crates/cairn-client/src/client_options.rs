//! The bounds a `CairnClient` works within: every request has a connect and a total timeout, and
//! every response body a size limit.
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// Whole request, from sending to the last byte of the response.
    pub request_timeout: Duration,
    /// Responses larger than this are refused (`ClientError::ResponseTooLarge`).
    pub max_response_bytes: usize,
    /// Idle keep-alive connections are closed after this long.
    pub pool_idle_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 64 << 20,
            pool_idle_timeout: Duration::from_secs(60),
        }
    }
}
