//! What one TCP connection may hold of the server: a deadline for writing each answer out,
//! and a cap on the connections one client address keeps open.
//!
//! hyper bounds how long a client may take to send a request's headers, and the router bounds
//! the body and the handler; neither bounds a client that sends requests and never reads the
//! answers. Its socket buffer fills, hyper's write waits forever, and the connection keeps its
//! slot among [`crate::app::settings::Limits::max_connections`] — 40 such sockets against 32 slots
//! held `/healthz` off for as long as they stayed. [`WriteDeadline`] cuts such a connection
//! off; [`ClientSlots`] keeps one address from taking every slot with connections that each
//! stay within the deadlines.
//!
//! hyper also answers requests it cannot parse (a control byte in a header, two
//! `Content-Length`s, a path that is not UTF-8, too many headers, a 100 KB request line) by
//! itself, before any of this server's code runs, with a status and an empty body. The same
//! stream rewrites those answers into the API's JSON error shape ([`json_parse_error`]).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The address a request's connection comes from (a request extension; absent in-process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// A stream whose every answer must be written out within `timeout`, from its first byte to
/// the flush that follows its last: a write still waiting at the deadline fails with
/// `TimedOut`, which ends the connection.
///
/// The deadline is not pushed back by partial progress, so a client that reads a byte now
/// and then cannot stretch an answer past it either; what it bounds is the time between the
/// start of an answer and hyper's flush of it (hyper flushes after each message, and when its
/// buffer fills, so a long body needs at least one buffer per `timeout`).
pub struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Whether an answer is being written (the deadline runs).
    armed: bool,
    /// A JSON answer being written in place of hyper's bodiless one: the bytes, how many are
    /// out, and how many of hyper's bytes it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> WriteDeadline<S> {
    /// `inner`, with answers bounded by `timeout`.
    pub fn new(inner: S, timeout: Duration) -> Self {
        WriteDeadline {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
            replacing: None,
        }
    }

    /// Starts the deadline at the first write of an answer.
    fn arm(&mut self) {
        if !self.armed {
            self.armed = true;
            self.deadline.as_mut().reset(Instant::now() + self.timeout);
        }
    }

    /// A write that cannot go on yet: still waiting, or timed out.
    fn pending_or_expired<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.armed && self.deadline.as_mut().poll(cx).is_ready() {
            crate::infra::metrics::connection_write_timed_out();
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the answer within the write timeout",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> WriteDeadline<S> {
    /// Writes out the JSON answer standing for hyper's bodiless one; once all of it is out,
    /// reports hyper's bytes as written. (After `Pending`, hyper calls again with the same
    /// bytes, and the answer goes on from where it stopped.)
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some((answer, written, stands_for)) = &mut self.replacing else {
                return Poll::Ready(Ok(0));
            };
            if *written == answer.len() {
                let stands_for = *stands_for;
                self.replacing = None;
                return Poll::Ready(Ok(stands_for));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.pending_or_expired(cx),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.arm();
        if self.replacing.is_none() {
            self.replacing = json_parse_error(buf).map(|(answer, head)| (answer, 0, head));
        }
        if self.replacing.is_some() {
            return self.poll_replacement(cx);
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending_or_expired(cx),
            ready => ready,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if self.replacing.is_some() || json_parse_error(first).is_some() {
            // A bodiless error is one head, alone in its write.
            return self.poll_write(cx, first);
        }
        self.arm();
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending_or_expired(cx),
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending_or_expired(cx),
            Poll::Ready(result) => {
                // Everything written so far is with the kernel: the answer is out.
                self.armed = false;
                Poll::Ready(result)
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => {
                self.arm();
                self.pending_or_expired(cx)
            }
            ready => ready,
        }
    }
}

/// Open connections per client address, capped: one address cannot take every slot.
///
/// An IPv4 address counts alone; IPv6 addresses count by their /64, the block one subscriber
/// is usually given, so one host cannot walk its own prefix to get more slots.
#[derive(Clone)]
pub struct ClientSlots {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place among its client's; released when dropped.
pub struct ClientSlot {
    client: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ClientSlots {
    /// At most `cap` connections per client; 0 for no cap.
    pub fn new(cap: usize) -> Self {
        ClientSlots {
            cap,
            open: Arc::default(),
        }
    }

    /// A place for a new connection from `peer`, or `None` when it already holds the cap.
    pub fn take(&self, peer: IpAddr) -> Option<ClientSlot> {
        let client = client_of(peer);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_insert(0);
        if self.cap != 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            client,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The address a client's connections are counted under.
fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

/// hyper's own answer to a request it could not parse — an error status with
/// `content-length: 0`, which this server's handlers never send (every error of theirs is
/// JSON) — rewritten as the API's JSON error, with how many of hyper's bytes it stands for.
pub fn json_parse_error(written: &[u8]) -> Option<(Vec<u8>, usize)> {
    if !(written.starts_with(b"HTTP/1.1 4") || written.starts_with(b"HTTP/1.1 5")) {
        return None;
    }
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&written[..end]).ok()?;
    let bodiless = head
        .split("\r\n")
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !bodiless {
        return None;
    }
    let status = head.get(9..12)?;
    let (code, message) = match status {
        "431" => (
            "headers_too_large",
            "the request has more header fields than this server reads",
        ),
        "414" => ("uri_too_long", "the request line is longer than this server reads"),
        "400" => (
            "invalid_request",
            "the request is not HTTP/1.1 this server can read: a control character in a header, a repeated or malformed Content-Length, or a path that is not UTF-8",
        ),
        _ => ("invalid_request", "the request could not be read"),
    };
    let status_line = head.split("\r\n").next()?;
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let answer = format!(
        "{status_line}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    Some((answer.into_bytes(), end))
}

/// Refused connections whose answer is still being delivered, at most: past that a refused
/// connection is closed at once, unanswered.
pub const REFUSALS_AT_ONCE: usize = 64;

/// How long a refused connection is given to take its answer.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Answers a connection over its client's cap with [`OVER_CAP_ANSWER`] and closes it, off the
/// accept loop: the answer is written, the write side shut, and what the client already sent
/// read and dropped for up to [`REFUSAL_LINGER`] — closing with its request unread would
/// reset the connection, and the client would see a reset instead of the 429. At most
/// [`REFUSALS_AT_ONCE`] linger at a time.
pub fn refuse(stream: tokio::net::TcpStream, refusing: &Arc<tokio::sync::Semaphore>) {
    let Ok(permit) = Arc::clone(refusing).try_acquire_owned() else {
        let _ = stream.try_write(OVER_CAP_ANSWER);
        return;
    };
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = stream;
        let linger = async {
            stream.write_all(OVER_CAP_ANSWER).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), io::Error>(())
        };
        let _ = tokio::time::timeout(REFUSAL_LINGER, linger).await;
        drop(permit);
    });
}

/// What a client over its cap is told before the connection closes, in the API's error shape.
pub const OVER_CAP_ANSWER: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
content-type: application/json\r\nconnection: close\r\ncontent-length: 117\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"this client holds as many open connections as it may; reuse one\"}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodiless_parse_errors_become_json_and_nothing_else_does() {
        let hyper =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let (answer, stands_for) = json_parse_error(hyper).unwrap();
        assert_eq!(stands_for, hyper.len());
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "headers_too_large");
        for kept in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 57\r\n\r\n{}"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"{\"error\": 1}",
        ] {
            assert!(
                json_parse_error(kept).is_none(),
                "{}",
                String::from_utf8_lossy(kept)
            );
        }
    }

    #[test]
    fn the_canned_answer_says_its_length() {
        let text = std::str::from_utf8(OVER_CAP_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "too_many_connections");
    }

    #[test]
    fn clients_are_capped_by_address_and_ipv6_by_prefix() {
        let slots = ClientSlots::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held = [slots.take(a).unwrap(), slots.take(a).unwrap()];
        assert!(
            slots.take(a).is_none(),
            "a third connection from one address"
        );
        assert!(slots.take("192.0.2.2".parse().unwrap()).is_some());
        assert!(
            slots.take("::ffff:192.0.2.1".parse().unwrap()).is_none(),
            "an IPv4-mapped address is the same client"
        );
        drop(held);
        assert!(slots.take(a).is_some(), "closing frees the places");
        let v6 = ClientSlots::new(1);
        let _first = v6.take("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(v6.take("2001:db8:1:2:ffff::9".parse().unwrap()).is_none());
        assert!(v6.take("2001:db8:1:3::1".parse().unwrap()).is_some());
        assert!(ClientSlots::new(0).take(a).is_some(), "0: no cap");
    }
}

/// How long clients get, and how many are served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// To send a request's headers.
    pub header_read_timeout: Duration,
    /// To send a request's body.
    pub body_read_timeout: Duration,
    /// For the whole request.
    pub request_timeout: Duration,
    /// To write an answer out, first byte to last (a client that does not read is cut off).
    pub write_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections one client address (IPv4, or an IPv6 /64) may hold; 0 for no cap.
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 256,
        }
    }
}
