//! Timeouts, connection limits and graceful shutdown, against the real binary over loopback:
//! clients that send half their headers, a body shorter than its `Content-Length`, or
//! `Expect: 100-continue` and nothing after, cannot hold the server; oversized headers get the
//! JSON error shape; a shutdown finishes the settlement in flight.

#[path = "common/process.rs"]
mod process;

use std::time::{Duration, Instant};

use process::{parse_response, parties, payment, request, Scratch, Server, ADMIN};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection, or fails the test after `limit`.
async fn closed_by_server(mut stream: TcpStream, limit: Duration) -> Vec<u8> {
    let mut raw = vec![];
    match tokio::time::timeout(limit, stream.read_to_end(&mut raw)).await {
        Ok(_) => raw, // EOF, or a reset: either way the server let go
        Err(_) => panic!("the server kept a slow connection open past {limit:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_the_server_on_sqlite() {
    slow_clients_cannot_hold_the_server("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_the_server_on_postgres() {
    slow_clients_cannot_hold_the_server("postgres").await;
}

async fn slow_clients_cannot_hold_the_server(kind: &str) {
    let scratch = Scratch::new("limits");
    let (url, created) = process::scratch_database(kind, &scratch.0).await;
    let server = Server::start(
        &url,
        &[
            "--header-read-timeout-seconds",
            "4",
            "--body-read-timeout-seconds",
            "4",
            "--request-timeout-seconds",
            "10",
            // 600 sockets from one address: the timeouts are under test here, not the cap.
            "--max-connections-per-client",
            "0",
        ],
        &scratch.0.join("server.log"),
    )
    .await;
    let setup = parties(&server, "10.00").await;
    // 600 slow sockets: 200 of each kind.
    let mut slow = vec![];
    for i in 0..600 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let head = match i % 3 {
            0 => "POST /settle HTTP/1.1\r\nHost: x\r\nContent-Type: appl".to_string(),
            1 => "POST /settle HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"x402Version\"".to_string(),
            _ => "POST /settle HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n".to_string(),
        };
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    // While they hang, the server answers everyone else at once.
    let started = Instant::now();
    let (status, body) = request(server.port, "GET", "/healthz", None, None, &[])
        .await
        .unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, settled) = server
        .call("POST", "/settle", None, Some(&payment(&setup, 10_000, 1)))
        .await
        .unwrap();
    assert_eq!(
        (status, &settled["success"]),
        (200, &json!(true)),
        "{settled}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served while every slow client still hung ({:?})",
        started.elapsed()
    );
    // And every slow socket is let go: headers after 4 s, bodies after 4 s (a 408 in JSON).
    let mut timed_out_bodies = 0;
    for (i, stream) in slow.into_iter().enumerate() {
        let raw = closed_by_server(stream, Duration::from_secs(15)).await;
        if i % 3 != 0 {
            let (status, body) = parse_response(&raw);
            assert_eq!(
                status,
                408,
                "kind {}: {}",
                i % 3,
                String::from_utf8_lossy(&raw)
            );
            assert_eq!(body["error"]["code"], "request_timeout");
            timed_out_bodies += 1;
        }
    }
    assert_eq!(timed_out_bodies, 400);
    let (status, _) = request(server.port, "GET", "/healthz", None, None, &[])
        .await
        .unwrap();
    assert_eq!(status, 200);
    drop(server);
    process::drop_database(created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_queues_new_clients_until_slots_free() {
    let scratch = Scratch::new("cap");
    let url = format!("sqlite://{}/paywire.db", scratch.0.display());
    let server = Server::start(
        &url,
        &[
            "--max-connections",
            "20",
            "--header-read-timeout-seconds",
            "1",
        ],
        &scratch.0.join("server.log"),
    )
    .await;
    // 20 connections that send nothing take every slot.
    let mut idle = vec![];
    for _ in 0..20 {
        idle.push(
            TcpStream::connect(("127.0.0.1", server.port))
                .await
                .unwrap(),
        );
    }
    // The listen queue is first in, first out: the next client comes after all twenty.
    let started = Instant::now();
    let (status, _) = tokio::time::timeout(
        Duration::from_secs(10),
        request(server.port, "GET", "/healthz", None, None, &[]),
    )
    .await
    .expect("a queued client is served once slots free")
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the 21st client waited for a slot ({:?})",
        started.elapsed()
    );
    for stream in idle {
        closed_by_server(stream, Duration::from_secs(5)).await;
    }
}

/// The value of a counter in the server's `/metrics`, summed over its labels.
async fn counter(server: &Server, name: &str) -> f64 {
    let stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let (status, body) = process::request_on(stream, "GET", "/metrics", Some(ADMIN), None, &[])
        .await
        .unwrap();
    assert_eq!(status, 200);
    let text = body["raw"].as_str().unwrap_or_default().to_string();
    text.lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_cannot_hold_the_slots_on_sqlite() {
    clients_that_never_read_cannot_hold_the_slots("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_cannot_hold_the_slots_on_postgres() {
    clients_that_never_read_cannot_hold_the_slots("postgres").await;
}

/// 40 sockets that pipeline `GET /openapi.json` (132 KB answers) and never read, against 32
/// slots: before the write timeout they held every slot for as long as they stayed, and
/// `/healthz` waited in the listen queue without end.
async fn clients_that_never_read_cannot_hold_the_slots(kind: &str) {
    let scratch = Scratch::new("nonreaders");
    let (url, created) = process::scratch_database(kind, &scratch.0).await;
    let server = Server::start(
        &url,
        &[
            "--max-connections",
            "32",
            "--max-connections-per-client",
            "0",
            "--write-timeout-seconds",
            "2",
            "--header-read-timeout-seconds",
            "60",
        ],
        &scratch.0.join("server.log"),
    )
    .await;
    let pipelined = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400);
    let mut held = vec![];
    let mut writers = vec![];
    for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket
            .connect(([127, 0, 0, 1], server.port).into())
            .await
            .unwrap();
        let (read_half, mut write_half) = stream.into_split();
        let requests = pipelined.clone();
        // The writes block once the server stops reading; the read half is never read.
        writers.push(tokio::spawn(async move {
            let _ = write_half.write_all(requests.as_bytes()).await;
            write_half
        }));
        held.push(read_half);
    }
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(30),
        request(server.port, "GET", "/healthz", None, None, &[]),
    )
    .await
    .expect("the clients that never read were cut off and a slot freed")
    .unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // Every one of them is cut, those that waited in the queue too (bounded: 40 × 2 s at
    // worst, were they cut one after another).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let cut = counter(&server, "paywire_connections_cut_total").await;
        if cut >= 40.0 {
            break;
        }
        assert!(Instant::now() < deadline, "only {cut} of 40 were cut");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(held);
    for writer in writers {
        writer.abort();
    }
    drop(server);
    process::drop_database(created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_address_cannot_take_every_slot_on_sqlite() {
    one_client_address_cannot_take_every_slot("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_address_cannot_take_every_slot_on_postgres() {
    one_client_address_cannot_take_every_slot("postgres").await;
}

async fn one_client_address_cannot_take_every_slot(kind: &str) {
    let scratch = Scratch::new("perclient");
    let (url, created) = process::scratch_database(kind, &scratch.0).await;
    let server = Server::start(
        &url,
        &[
            "--max-connections",
            "20",
            "--max-connections-per-client",
            "5",
            "--header-read-timeout-seconds",
            "60",
        ],
        &scratch.0.join("server.log"),
    )
    .await;
    // Not 127.0.0.1: the harness's own readiness probes come from there, and one whose close
    // the server has not yet read would still count against the cap (the fifth idle socket
    // refused, the sixth then let in).
    let attacker = std::net::Ipv4Addr::new(127, 0, 0, 7);
    // Five idle connections from one address: its cap.
    let mut idle = vec![];
    for _ in 0..5 {
        idle.push(process::connect_from(attacker, server.port).await.unwrap());
    }
    // Another address is served at once while they hang.
    let other = process::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), server.port)
        .await
        .unwrap();
    let (status, _) = tokio::time::timeout(
        Duration::from_secs(5),
        process::request_on(other, "GET", "/healthz", None, None, &[]),
    )
    .await
    .expect("another client is served while one holds its cap")
    .unwrap();
    assert_eq!(status, 200);
    // A sixth from the capped address is answered 429 and closed, not queued behind the others.
    for _ in 0..3 {
        let sixth = process::connect_from(attacker, server.port).await.unwrap();
        let raw = closed_by_server(sixth, Duration::from_secs(5)).await;
        let (status, body) = parse_response(&raw);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (429, Some("too_many_connections")),
            "{}",
            String::from_utf8_lossy(&raw)
        );
    }
    let other = process::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 3), server.port)
        .await
        .unwrap();
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        process::request_on(other, "GET", "/metrics", Some(ADMIN), None, &[]),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        refused.1["raw"]
            .as_str()
            .unwrap_or_default()
            .contains("paywire_connections_refused_total{reason=\"per_client_cap\"} 3"),
        "{}",
        refused.1
    );
    // Closing one frees its place, once the server has read the close (bounded: 5 s).
    drop(idle.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = process::connect_from(attacker, server.port).await.unwrap();
        let (status, _) = tokio::time::timeout(
            Duration::from_secs(5),
            process::request_on(again, "GET", "/healthz", None, None, &[]),
        )
        .await
        .expect("answered at once, 200 or 429")
        .unwrap();
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(
            Instant::now() < deadline,
            "the closed connection's place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server);
    process::drop_database(created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_parse_answer_json_on_sqlite() {
    requests_hyper_cannot_parse_answer_json("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_parse_answer_json_on_postgres() {
    requests_hyper_cannot_parse_answer_json("postgres").await;
}

/// Requests refused by hyper itself, before any handler, were answered with a status and an
/// empty body; the README says every error is JSON. And an oversize body announced with
/// `Expect: 100-continue` is refused at once (it was told `100 Continue` first).
async fn requests_hyper_cannot_parse_answer_json(kind: &str) {
    let scratch = Scratch::new("unparsable");
    let (url, created) = process::scratch_database(kind, &scratch.0).await;
    let server = Server::start(&url, &[], &scratch.0.join("server.log")).await;
    let many_headers: String = (0..500).map(|i| format!("x-h{i}: v\r\n")).collect();
    let long_line = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("NUL in Idempotency-Key", b"POST /v1/agents HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x00b\r\nContent-Length: 0\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("control byte in Authorization", b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x01b\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("control byte in x-request-id", b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: a\x1fb\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("two Content-Lengths", b"POST /settle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}".to_vec(), 400, "invalid_request"),
        ("Content-Length: -1", b"POST /settle HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("Content-Length: 2^64", b"POST /settle HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("a path that is not UTF-8", b"GET /v1/wallets/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400, "invalid_request"),
        ("500 small headers", format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(), 431, "headers_too_large"),
        ("a 100 KB request line", long_line.into_bytes(), 414, "uri_too_long"),
        ("Expect: 100-continue with a body past the limit", b"POST /settle HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n".to_vec(), 413, "body_too_large"),
    ];
    for (what, raw, status, code) in cases {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        stream.write_all(&raw).await.unwrap();
        let mut answer = vec![];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
        assert!(
            read.await.is_ok(),
            "{what}: the server kept the connection open: {}",
            String::from_utf8_lossy(&answer)
        );
        let text = String::from_utf8_lossy(&answer);
        assert!(
            !text.starts_with("HTTP/1.1 100"),
            "{what}: told to continue: {text}"
        );
        let (got, body) = parse_response(&answer);
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {text}"
        );
    }
    // The server is unharmed.
    let (status, _) = request(server.port, "GET", "/healthz", None, None, &[])
        .await
        .unwrap();
    assert_eq!(status, 200);
    drop(server);
    process::drop_database(created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_unknown_routes_answer_json() {
    let scratch = Scratch::new("headers");
    let url = format!("sqlite://{}/paywire.db", scratch.0.display());
    let server = Server::start(&url, &[], &scratch.0.join("server.log")).await;
    let big = "x".repeat(40 * 1024);
    let (status, body) = request(
        server.port,
        "GET",
        "/healthz",
        None,
        None,
        &[("X-Big", &big)],
    )
    .await
    .unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (431, Some("headers_too_large"))
    );
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let (status, body) = request(server.port, "GET", "/healthz", None, None, &many)
        .await
        .unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (431, Some("headers_too_large"))
    );
    for (method, path, code) in [
        ("GET", "/nope", "not_found"),
        ("PATCH", "/settle", "method_not_allowed"),
        ("GET", "/v1/wallets/%FF", "invalid_request"),
    ] {
        let (status, body) = request(server.port, method, path, Some(ADMIN), None, &[])
            .await
            .unwrap();
        assert_eq!(
            body["error"]["code"], code,
            "{method} {path}: {status} {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_finishes_the_settlement_in_flight() {
    let scratch = Scratch::new("shutdown");
    let url = format!("sqlite://{}/paywire.db", scratch.0.display());
    let mut server = Server::start(&url, &[], &scratch.0.join("server.log")).await;
    let setup = parties(&server, "1.00").await;
    let body = payment(&setup, 10_000, 7).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let head = format!(
        "POST /settle HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // `100 Continue` means the request is in the handler, reading its body.
    let mut continued = [0u8; 25];
    stream.read_exact(&mut continued).await.unwrap();
    assert!(continued.starts_with(b"HTTP/1.1 100 Continue"));
    server.terminate();
    // The server is shutting down; the request in flight still completes.
    stream.write_all(body.as_bytes()).await.unwrap();
    let raw = closed_by_server(stream, Duration::from_secs(10)).await;
    let (status, settled) = parse_response(&raw);
    assert_eq!(
        (status, &settled["success"]),
        (200, &json!(true)),
        "{settled}"
    );
    let exited = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "a graceful exit: {exited:?}");
    // The settlement committed: a new server on the same database replays it.
    let server = Server::start(&url, &[], &scratch.0.join("server.log")).await;
    let (_, again) = server
        .call(
            "POST",
            "/settle",
            None,
            Some(&serde_json::from_str(&body).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(again["transaction"], settled["transaction"]);
    let (_, wallet) = server
        .call(
            "GET",
            &format!("/v1/wallets/{}", setup.agent_wallet),
            Some(ADMIN),
            None,
        )
        .await
        .unwrap();
    assert_eq!(wallet["balances"][0]["atomic"], "990000", "charged once");
}

/// An empty `PAYWIRE_ADMIN_KEY` replaced the operator key with the hash of "" (locking the
/// operator out), and a one-character key was accepted: both now stop the server at start,
/// saying why, before the database is touched.
#[test]
fn an_empty_or_weak_operator_key_stops_the_server_at_start() {
    let scratch = Scratch::new("weakkey");
    let db = scratch.0.join("paywire.db");
    for weak in ["", "k"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paywire-server"))
            .args([
                "--database-url",
                &format!("sqlite://{}", db.display()),
                "migrate",
            ])
            .env("PAYWIRE_ADMIN_KEY", weak)
            .env("PAYWIRE_MASTER_KEY", process::MASTER_KEY)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{weak:?} accepted: {stderr}");
        assert!(stderr.contains("PAYWIRE_ADMIN_KEY"), "{stderr}");
        assert!(!db.exists(), "nothing was opened");
    }
}

/// The SQLite database holds the ledger; it was created world-readable (0644), beside a master
/// key file made 0600. Now the file and its write-ahead log are the owner's alone.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("private");
    let path = scratch.0.join("paywire.db");
    let server = Server::start(
        &format!("sqlite://{}", path.display()),
        &[],
        &scratch.0.join("server.log"),
    )
    .await;
    let _ = parties(&server, "1.00").await;
    for file in [path.clone(), scratch.0.join("paywire.db-wal")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
}

/// Slow sockets from many addresses, each within its per-client cap, fill every slot: those
/// accepted while fewer than an eighth of the slots are free get a 1 s header timeout, so the
/// slots they take come back within seconds and a real client queued behind them is served
/// long before the 30 s header timeout the first ones were given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_pressure_slow_sockets_give_their_slots_back_quickly() {
    let scratch = Scratch::new("pressure");
    let url = format!("sqlite://{}/paywire.db", scratch.0.display());
    let server = Server::start(
        &url,
        &[
            "--max-connections",
            "16",
            "--max-connections-per-client",
            "0",
            "--header-read-timeout-seconds",
            "30",
        ],
        &scratch.0.join("server.log"),
    )
    .await;
    // 24 sockets that never send a byte, from 4 addresses: 14 take slots with the full 30 s,
    // the rest are accepted under pressure (or wait in the listen queue to be).
    let mut idle = vec![];
    for i in 0..24u8 {
        let source = std::net::Ipv4Addr::new(127, 0, 0, 10 + i % 4);
        idle.push(process::connect_from(source, server.port).await.unwrap());
    }
    let started = Instant::now();
    let (status, _) = tokio::time::timeout(
        Duration::from_secs(20),
        request(server.port, "GET", "/healthz", None, None, &[]),
    )
    .await
    .expect("served once the pressed slots turned over, well before 30 s")
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}
