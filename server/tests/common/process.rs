//! The real `paywire-server` binary as a child process on a loopback port, a raw HTTP/1.1
//! client over TCP, and the setup most process tests need (a provider, a funded agent, signed
//! ledger payments).
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::AnyRequirements;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ADMIN: &str = "sk_admin_process_test_key";
pub const MASTER_KEY: &str = "70726f63657373207465737473206d6173746572206b65792c206e6f7420726c";

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub database_url: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts the binary on `database_url` with extra flags, and waits (bounded) until
    /// `/healthz` answers.
    pub async fn start(database_url: &str, extra: &[&str], log: &Path) -> Server {
        Self::start_on(database_url, free_port(), extra, log).await
    }

    /// Starts the binary on a given port (a restart after a kill keeps its address).
    pub async fn start_on(database_url: &str, port: u16, extra: &[&str], log: &Path) -> Server {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_paywire-server"))
            .args([
                "--database-url",
                database_url,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--ledger-id",
                "test",
            ])
            .args(extra)
            .env("PAYWIRE_ADMIN_KEY", ADMIN)
            .env("PAYWIRE_MASTER_KEY", MASTER_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::from(out))
            .spawn()
            .expect("the server binary starts");
        let server = Server {
            child,
            port,
            database_url: database_url.to_string(),
            log: log.to_path_buf(),
        };
        server.wait_ready(Duration::from_secs(30)).await;
        server
    }

    /// Waits until `/healthz` answers, or panics after `limit`.
    pub async fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(Ok((200, _))) = tokio::time::timeout(
                Duration::from_secs(2),
                request(self.port, "GET", "/healthz", None, None, &[]),
            )
            .await
            {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "the server did not become ready; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGKILL: the process dies at once, mid-whatever.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// A JSON request to this server.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        request(self.port, method, path, key, body, &[]).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), reading the answer to
/// EOF: `(status, JSON body or {"raw": text})`.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Value)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    request_on(stream, method, path, key, body, headers).await
}

/// A connection to the server on `port` from the loopback address `source` (127.0.0.2, say:
/// another client, as far as per-client caps go).
pub async fn connect_from(source: std::net::Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    socket.connect(([127, 0, 0, 1], port).into()).await
}

/// One HTTP/1.1 request on `stream` (`Connection: close`), reading the answer to EOF.
pub async fn request_on(
    mut stream: TcpStream,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(key) = key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = vec![];
    stream.read_to_end(&mut raw).await?;
    Ok(parse_response(&raw))
}

/// `(status, JSON body)` of a raw HTTP/1.1 response (the last one, after any `100 Continue`).
pub fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let mut rest: &str = &text;
    while let Some(after) = rest.strip_prefix("HTTP/1.1 100") {
        rest = after.split_once("\r\n\r\n").map_or("", |(_, r)| r);
    }
    let status = rest.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = rest.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let value = serde_json::from_str(body).unwrap_or_else(|_| json!({"raw": body}));
    (status, value)
}

/// A provider and a funded agent, made through the API.
pub struct Parties {
    pub provider_wallet: String,
    pub agent_wallet: String,
    pub agent_secret: String,
}

/// Creates a provider and an agent funded with `funds` whole units.
pub async fn parties(server: &Server, funds: &str) -> Parties {
    let (status, provider) = server
        .call(
            "POST",
            "/v1/providers",
            Some(ADMIN),
            Some(&json!({"name": "p"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{provider}");
    let (status, agent) = server
        .call(
            "POST",
            "/v1/agents",
            Some(ADMIN),
            Some(&json!({"name": "a"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{agent}");
    let agent_wallet = agent["walletId"].as_str().unwrap().to_string();
    let (status, funded) = server
        .call(
            "POST",
            &format!("/v1/wallets/{agent_wallet}/fund"),
            Some(ADMIN),
            Some(&json!({"amount": funds})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{funded}");
    Parties {
        provider_wallet: provider["walletId"].as_str().unwrap().to_string(),
        agent_wallet,
        agent_secret: agent["walletSecret"].as_str().unwrap().to_string(),
    }
}

/// A facilitator request paying `amount` atomic units from the agent to the provider, with
/// a nonce derived from `n` (distinct `n`, distinct payment).
pub fn payment(parties: &Parties, amount: u128, n: u64) -> Value {
    let requirements = json!({"scheme": "exact", "network": "paywire:test", "amount": amount.to_string(),
        "asset": "USD", "payTo": parties.provider_wallet, "maxTimeoutSeconds": 3600});
    let typed = AnyRequirements::V2(serde_json::from_value(requirements.clone()).unwrap());
    let secret = WalletSecret::from_hex(&parties.agent_secret).unwrap();
    let mut nonce = [0u8; 32];
    nonce[..8].copy_from_slice(&n.to_be_bytes());
    nonce[8..16].copy_from_slice(b"paywire!");
    let exact = ledger::sign_payment(
        &typed,
        &parties.agent_wallet,
        &secret,
        &nonce,
        paywire_server::base::util::now(),
    )
    .unwrap();
    json!({"x402Version": 2,
        "paymentPayload": {"x402Version": 2, "resource": {"url": "https://api.example.com/p"},
            "accepted": requirements, "payload": exact.to_object()},
        "paymentRequirements": requirements})
}

/// A fresh database URL of `kind` ("sqlite" or "postgres") and what removes it.
pub async fn scratch_database(kind: &str, dir: &Path) -> (String, Option<(String, String)>) {
    match kind {
        "sqlite" => (format!("sqlite://{}/paywire.db", dir.display()), None),
        _ => {
            use sqlx::Connection;
            let admin_url = std::env::var("PAYWIRE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let mut suffix = [0u8; 6];
            getrandom::fill(&mut suffix).unwrap();
            let name = format!("paywire_p_{}", hex::encode(suffix));
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin_url.rsplit_once('/').unwrap().0.to_string();
            (format!("{base}/{name}"), Some((admin_url, name)))
        }
    }
}

/// Drops a scratch PostgreSQL database.
pub async fn drop_database(created: Option<(String, String)>) {
    use sqlx::Connection;
    if let Some((admin_url, name)) = created {
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).unwrap();
        let dir = std::env::temp_dir().join(format!("paywire-{label}-{}", hex::encode(suffix)));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
