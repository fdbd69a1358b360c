//! Fault injection: the database connection drops at `COMMIT`. A TCP proxy on loopback sits
//! between the server and the real PostgreSQL and, when armed, cuts the connection as the
//! settlement's `COMMIT` passes — either before PostgreSQL sees it (nothing committed) or after
//! PostgreSQL committed but before the answer reaches the server. Either way `/settle` must
//! answer `settlement_pending` (never a failure), and a retry of the same payment must yield
//! the committed outcome: charged exactly once.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::{nonce, TestApp};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where the proxy cuts the connection carrying the next `COMMIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Pass everything.
    Off,
    /// Drop the `COMMIT` itself: the transaction rolls back.
    BeforeCommit,
    /// Forward the `COMMIT`, swallow PostgreSQL's answer: the transaction committed.
    AfterCommit,
}

/// A PostgreSQL simple-query `COMMIT` message: `Q`, its length, the text and a NUL.
fn is_commit(chunk: &[u8]) -> bool {
    chunk.windows(12).any(|w| w == b"Q\0\0\0\x0bCOMMIT\0")
}

struct Proxy {
    port: u16,
    cut: Arc<Mutex<Cut>>,
    cuts: Arc<Mutex<u32>>,
}

impl Proxy {
    async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(Mutex::new(Cut::Off));
        let cuts = Arc::new(Mutex::new(0));
        let (cut2, cuts2) = (cut.clone(), cuts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                tokio::spawn(pump(client, server, cut2.clone(), cuts2.clone()));
            }
        });
        Proxy { port, cut, cuts }
    }

    fn arm(&self, cut: Cut) {
        *self.cut.lock().unwrap() = cut;
    }

    fn cuts(&self) -> u32 {
        *self.cuts.lock().unwrap()
    }
}

async fn pump(client: TcpStream, server: TcpStream, cut: Arc<Mutex<Cut>>, cuts: Arc<Mutex<u32>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set when the connection is to be cut after PostgreSQL's next answer.
    let swallow_answer = Arc::new(Mutex::new(false));
    let swallow = swallow_answer.clone();
    let downstream = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if *swallow.lock().unwrap() {
                // PostgreSQL answered the COMMIT; the server never hears it.
                let _ = client_write.shutdown().await;
                return;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buffer[..n];
        if is_commit(chunk) {
            let armed = std::mem::replace(&mut *cut.lock().unwrap(), Cut::Off);
            match armed {
                Cut::Off => {}
                Cut::BeforeCommit => {
                    *cuts.lock().unwrap() += 1;
                    downstream.abort();
                    return; // both halves drop: PostgreSQL sees the client vanish mid-transaction
                }
                Cut::AfterCommit => {
                    *cuts.lock().unwrap() += 1;
                    *swallow_answer.lock().unwrap() = true;
                }
            }
        }
        if server_write.write_all(chunk).await.is_err() {
            break;
        }
    }
    let _ = downstream.await;
}

/// The port of the PostgreSQL the tests use.
fn postgres_port() -> u16 {
    std::env::var("PAYWIRE_TEST_POSTGRES_URL")
        .ok()
        .and_then(|url| {
            url.rsplit_once(':')
                .and_then(|(_, rest)| rest.split('/').next()?.parse().ok())
        })
        .unwrap_or(5432)
}

async fn a_commit_cut_is_pending_and_the_retry_settles_once(cut: Cut) {
    let proxy = Proxy::start(postgres_port()).await;
    let app = TestApp::postgres_through(&format!("127.0.0.1:{}", proxy.port)).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let body = app.ledger_payment(&agent, &provider, 10_000, nonce(1));
    proxy.arm(cut);
    let first = app.settle(&body).await;
    assert_eq!(
        proxy.cuts(),
        1,
        "the fault fired at the settlement's COMMIT"
    );
    assert_eq!(
        (first["success"].clone(), first["errorReason"].clone()),
        (json!(false), json!("settlement_pending")),
        "an unknown outcome is pending, never a failure: {first}"
    );
    let committed = app.count("SELECT COUNT(*) FROM payments").await;
    assert_eq!(
        committed,
        i64::from(cut == Cut::AfterCommit),
        "the cut fell where it was aimed"
    );
    // The retry of the very same payment (through a fresh connection) gives the committed
    // outcome: the first attempt's, or this one's.
    let retry = app.settle(&body).await;
    assert_eq!(retry["success"], true, "{retry}");
    let again = app.settle(&body).await;
    assert_eq!(again["transaction"], retry["transaction"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        1_000_000 - 10_000,
        "charged exactly once"
    );
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    app.assert_books_balance().await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_before_commit_is_pending_then_settles_once() {
    a_commit_cut_is_pending_and_the_retry_settles_once(Cut::BeforeCommit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_after_commit_is_pending_then_replays() {
    a_commit_cut_is_pending_and_the_retry_settles_once(Cut::AfterCommit).await;
}

/// With an `Idempotency-Key` (and credentials) on `/settle`, a pending answer is never
/// replayed as the outcome: `/settle` keeps no idempotency record (its answers carry bearer
/// tokens; it is idempotent on the payment itself), so the retry reconciles at once through
/// the payment's nonce and gets the committed payment — it once waited out the key's lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_answer_is_never_replayed_as_the_outcome() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let proxy = Proxy::start(postgres_port()).await;
    let app = TestApp::postgres_through(&format!("127.0.0.1:{}", proxy.port)).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let body =
        serde_json::to_vec(&app.ledger_payment(&agent, &provider, 10_000, nonce(2))).unwrap();
    let send = || async {
        let request = axum::http::Request::post("/settle")
            .header("content-type", "application/json")
            .header("idempotency-key", "settle-once-please")
            // The key scopes to credentials: a facilitator client's own (`/settle` checks none).
            .header("authorization", "Bearer facilitator-client-1")
            .body(Body::from(body.clone()))
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
        )
    };
    proxy.arm(Cut::AfterCommit);
    let (_, first) = send().await;
    assert_eq!(first["errorReason"], "settlement_pending", "{first}");
    let (status, settled) = send().await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        settled["success"], true,
        "the committed payment, not the pending answer: {settled}"
    );
    let (_, replayed) = send().await;
    assert_eq!(replayed, settled);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 0);
    assert_eq!(app.balance(&agent.wallet, "USD").await, 1_000_000 - 10_000);
    app.finish().await;
}
