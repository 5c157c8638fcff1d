//! Limits that keep one client from holding the service: serving with hyper directly so that a
//! request head must arrive within 10 s, idle keep-alive connections close after 60 s, a request
//! body must keep arriving at a minimum rate, and at most `--max-connections` connections are
//! open; ordinary requests end after 60 s with 503 JSON; anonymous callers get a request rate
//! per client address (`--rate-limit-anonymous`), answered with 429 and `Retry-After` beyond it.
//!
//! The head and idle timers are ours, not hyper's `header_read_timeout`: hyper starts that timer
//! as soon as a keep-alive connection waits for its next request, which would close idle
//! connections after 10 s instead of 60 s.

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use axum::Router;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

/// Connection-level limits of `lagesbild serve`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// A request head (request line and headers) must be complete within this time of its first byte.
    pub header_read: Duration,
    /// A keep-alive connection with no request in flight and no traffic is closed after this.
    pub idle: Duration,
    /// A request body must deliver at least `body_min_bytes` in every `body_window`.
    pub body_min_bytes: u64,
    pub body_window: Duration,
    /// Open connections at most (`--max-connections`); further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body_min_bytes: 1024,
            body_window: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("the request body arrived slower than {bytes} bytes per {secs} s; the upload was cut off")]
    BodyTooSlow { bytes: u64, secs: u64 },
    #[error("--trusted-proxy '{0}': not an address or CIDR range (e.g. 10.0.0.0/8)")]
    BadProxy(String),
}

/// What a connection has been doing, shared by its socket, its requests and its watchdog.
struct ConnWatch {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_activity: AtomicU64,
    /// Requests whose head has arrived and whose response is not yet produced.
    in_flight: AtomicUsize,
    /// 1 + milliseconds since `start` of the first byte of a head still being read; 0 = none.
    /// A new connection starts as if its first head had begun: connecting and sending nothing
    /// holds a connection no longer than sending half a head.
    head_started: AtomicU64,
}

impl ConnWatch {
    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_activity.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 && self.head_started.load(Ordering::Acquire) == 0 {
            self.head_started.store(now + 1, Ordering::Release);
        }
    }

    fn on_write(&self) {
        self.last_activity.store(self.now_ms(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
    }

    fn request_finished(&self) {
        self.last_activity.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether the connection has broken a limit and is to be closed.
    fn expired(&self, limits: &ConnectionLimits) -> bool {
        let now = self.now_ms();
        let head = self.head_started.load(Ordering::Acquire);
        if head > 0 && now.saturating_sub(head - 1) > limits.header_read.as_millis() as u64 {
            return true;
        }
        let idle = self.in_flight.load(Ordering::Acquire) == 0 && head == 0;
        idle && now.saturating_sub(self.last_activity.load(Ordering::Relaxed)) > limits.idle.as_millis() as u64
    }
}

/// The socket, telling its watch about every byte.
struct Watched<S> {
    inner: S,
    watch: Arc<ConnWatch>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watch.on_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.on_write();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that must deliver `min` bytes in every `window`, or fails (the handler then
/// answers 400 and the connection closes).
struct MinRateBody {
    inner: Incoming,
    min: u64,
    window: Duration,
    got: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for MinRateBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.got += frame.data_ref().map_or(0, |d| d.len() as u64);
                if this.got >= this.min {
                    this.got = 0;
                    let next = tokio::time::Instant::now() + this.window;
                    this.deadline.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    let e = LimitError::BodyTooSlow { bytes: this.min, secs: this.window.as_secs() };
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Ends the count of a request in flight however its future ends (also when dropped).
struct InFlight(Arc<ConnWatch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes. Each request carries
/// the peer's address as axum's `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: tokio::net::TcpListener, router: Router, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            _ = &mut shutdown => return Ok(()),
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let (router, limits) = (router.clone(), limits.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, router, &limits).await;
            drop(permit);
        });
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, peer: SocketAddr, router: Router, limits: &ConnectionLimits) {
    let watch =
        Arc::new(ConnWatch { start: Instant::now(), last_activity: AtomicU64::new(0), in_flight: AtomicUsize::new(0), head_started: AtomicU64::new(1) });
    let io = hyper_util::rt::TokioIo::new(Watched { inner: stream, watch: watch.clone() });
    let (min, window) = (limits.body_min_bytes, limits.body_window);
    let w = watch.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        w.request_started();
        let guard = InFlight(w.clone());
        let mut req = req.map(|inner| {
            // A request without a body (every GET) has nothing to time: no timer is made for it.
            if hyper::body::Body::is_end_stream(&inner) {
                return axum::body::Body::new(inner);
            }
            let deadline = Box::pin(tokio::time::sleep(window));
            axum::body::Body::new(MinRateBody { inner, min, window, got: 0, deadline })
        });
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await;
            drop(guard);
            resp
        }
    });
    // hyper's own head timer is off (see the module comment); the watchdog below keeps both limits.
    let conn = hyper::server::conn::http1::Builder::new().keep_alive(true).header_read_timeout(None).serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    // One check a second is enough for limits counted in tens of seconds.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tick.tick() => {
                if watch.expired(limits) {
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}

/// Requests per second per client address for callers without a token, with a burst of four
/// seconds' worth. Lives as long as the process: a new data generation keeps the counts.
pub struct ClientLimiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
    trusted: Vec<ipnet::IpNet>,
    checks: AtomicU64,
}

impl std::fmt::Debug for ClientLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLimiter").field("on", &self.limiter.is_some()).field("trusted", &self.trusted).finish()
    }
}

impl ClientLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32, trusted: Vec<ipnet::IpNet>) -> ClientLimiter {
        let limiter = std::num::NonZeroU32::new(per_second).map(|n| {
            let burst = std::num::NonZeroU32::new(per_second.saturating_mul(4)).unwrap_or(n);
            governor::RateLimiter::keyed(governor::Quota::per_second(n).allow_burst(burst))
        });
        ClientLimiter { limiter, trusted, checks: AtomicU64::new(0) }
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
    /// untrusted address in `X-Forwarded-For` / `Forwarded`. Headers from anyone else are ignored:
    /// a client could otherwise pick its own address and escape the limit.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut hops: Vec<IpAddr> = Vec::new();
        for v in headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()) {
            hops.extend(v.split(',').filter_map(forwarded_for));
        }
        if hops.is_empty() {
            for v in headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()) {
                hops.extend(v.split(',').filter_map(|h| parse_ip(h.trim())));
            }
        }
        // The rightmost hop was added by our proxy; walk left past other trusted proxies.
        hops.into_iter().rev().find(|a| !self.is_trusted(*a)).unwrap_or(peer)
    }

    fn is_trusted(&self, a: IpAddr) -> bool {
        let a = match a {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
            v4 => v4,
        };
        self.trusted.iter().any(|n| n.contains(&a))
    }

    /// Ok, or how long the client must wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some(l) = &self.limiter else { return Ok(()) };
        // Forget quiet clients now and then so that the table stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            l.retain_recent();
            l.shrink_to_fit();
        }
        use governor::clock::Clock;
        l.check_key(&client).map_err(|not_until| not_until.wait_time_from(governor::clock::DefaultClock::default().now()))
    }
}

/// Parses `--trusted-proxy` values: CIDR ranges or single addresses.
pub fn parse_trusted(values: &[String]) -> Result<Vec<ipnet::IpNet>, LimitError> {
    values
        .iter()
        .map(|v| {
            let v = v.trim();
            v.parse::<ipnet::IpNet>().or_else(|_| v.parse::<IpAddr>().map(ipnet::IpNet::from)).map_err(|_| LimitError::BadProxy(v.to_string()))
        })
        .collect()
}

/// `for=` of one `Forwarded` element (RFC 7239): `for=192.0.2.1`, `for="[2001:db8::1]:4711"`.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| parse_ip(v.trim().trim_matches('"'))).flatten()
    })
}

/// An address with or without a port, IPv6 in brackets or not.
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(a);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[').and_then(|r| r.split(']').next()).and_then(|a| a.parse().ok())
}

/// Paths with limits of their own: analyses (worker turns and work limits) and uploads
/// (bounded by size and by the minimum body rate).
fn own_time_limit(path: &str) -> bool {
    path.starts_with("/analysis/") || path.starts_with("/api/imports/")
}

/// Ordinary requests end after the configured time with 503 JSON.
pub async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if own_time_limit(req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => uncached(super::error::ApiError::ServiceUnavailable(format!(
            "the request took longer than {} s and was stopped; try again or narrow it",
            limit.as_secs()
        ))),
    }
}

/// An error answered outside the privacy layer still gets the rule for errors (never cached).
fn uncached(e: super::error::ApiError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut r = e.into_response();
    let rule = crate::privacy::cache_control(crate::privacy::Role::Public, crate::privacy::Resource::Error);
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static(rule));
    r
}

/// Anonymous callers beyond their rate get 429 with `Retry-After`; callers with an accepted
/// token pass (privacy.rs decides who is limited). Requests without a peer address (the router
/// called directly, as in tests) are not limited.
pub async fn rate_limit(
    axum::extract::State(s): axum::extract::State<Arc<super::AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let authenticated = super::auth::Caller::from_request_parts(&mut parts, &s).await.is_ok_and(|c| c.authenticated());
    if crate::privacy::rate_limited(authenticated) {
        let client = s.rate_limit.client_addr(peer, &parts.headers);
        if let Err(wait) = s.rate_limit.check(client) {
            let retry_after_s = wait.as_secs_f64().ceil().max(1.0) as u64;
            return uncached(super::error::ApiError::TooManyRequests {
                message: "too many requests from this address; wait and try again, or sign in".into(),
                retry_after_s,
            });
        }
    }
    next.run(axum::extract::Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let l = ClientLimiter::new(1, parse_trusted(&["10.0.0.0/8".into()]).unwrap());
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.7, 10.9.9.9")]);
        assert_eq!(l.client_addr(proxy, &h), "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(l.client_addr(stranger, &h), stranger);
        let f = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https, for=10.2.2.2")]);
        assert_eq!(l.client_addr(proxy, &f), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(l.client_addr(proxy, &HeaderMap::new()), proxy);
        assert!(parse_trusted(&["not-a-net".into()]).is_err());
    }

    #[test]
    fn a_client_gets_its_burst_and_then_a_wait() {
        let l = ClientLimiter::new(2, vec![]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        // Burst of 4 × 2 requests, then refused with a wait of at most half a second.
        for _ in 0..8 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        assert!(l.check("192.0.2.2".parse().unwrap()).is_ok(), "another address has its own budget");
        assert!(ClientLimiter::new(0, vec![]).check(a).is_ok());
    }
}
