//! Test harness: a fresh database per test — a SQLite file, or a new database on the
//! PostgreSQL server at `PAYWIRE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! — and requests sent through the real router.
#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::AnyRequirements;
use paywire_server::app::settings::SettingsArgs;
use paywire_server::AppState;
use serde_json::{json, Value};
use sqlx::Connection;
use tower::ServiceExt;

pub const ADMIN: &str = "sk_admin_test_operator_key";
/// The master key test databases are sealed under.
pub const MASTER_KEY: &str = "7465737420646174616261736573206d6173746572206b6579206f6e6c792121";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub state: AppState,
    /// The settlement layer's own (the group-commit pipeline of the opened settings).
    pub settlement: paywire_server::settle::Settlement,
    pub router: Router,
    url: String,
    fee_bps: u32,
    cleanup: Cleanup,
    args: SettingsArgs,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

fn postgres_admin_url() -> String {
    std::env::var("PAYWIRE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    hex::encode(bytes)
}

impl TestApp {
    /// The router's state, for a router rebuilt after the test changed `state`.
    pub fn server(&self) -> paywire_server::settle::Server {
        paywire_server::settle::Server {
            state: self.state.clone(),
            settlement: self.settlement.clone(),
        }
    }

    pub async fn new(backend: Backend) -> Self {
        Self::with_fee(backend, 250).await
    }

    /// A new PostgreSQL database reached through `host_port` (a proxy in front of the server).
    pub async fn postgres_through(host_port: &str) -> Self {
        let (url, cleanup) = Self::database(Backend::Postgres).await;
        let name = url.rsplit('/').next().unwrap().to_string();
        let user = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('@').next())
            .unwrap_or("postgres")
            .to_string();
        Self::open(
            format!("postgres://{user}@{host_port}/{name}"),
            cleanup,
            250,
            SettingsArgs::default(),
        )
        .await
    }

    pub async fn with_fee(backend: Backend, fee_bps: u32) -> Self {
        let (url, cleanup) = Self::database(backend).await;
        Self::open(url, cleanup, fee_bps, SettingsArgs::default()).await
    }

    /// A new database, the server opened with `args` as well (chains, say).
    #[allow(dead_code)]
    pub async fn with_args(backend: Backend, args: SettingsArgs) -> Self {
        let (url, cleanup) = Self::database(backend).await;
        Self::open(url, cleanup, 250, args).await
    }

    async fn database(backend: Backend) -> (String, Cleanup) {
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("paywire-test-{}.db", unique()));
                (format!("sqlite://{}", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("paywire_t_{}", unique());
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect(
                    "PostgreSQL must run at PAYWIRE_TEST_POSTGRES_URL for the server tests",
                );
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap();
                (
                    format!("{base}/{name}"),
                    Cleanup::Database { admin_url, name },
                )
            }
        }
    }

    /// The database URL.
    #[allow(dead_code)]
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// Closes the pool and opens the same database again: a server restart.
    pub async fn reopen(self) -> Self {
        self.state.pool.close().await;
        Self::open(self.url, self.cleanup, self.fee_bps, self.args).await
    }

    async fn open(url: String, cleanup: Cleanup, fee_bps: u32, args: SettingsArgs) -> Self {
        let settings = SettingsArgs {
            database_url: Some(url.clone()),
            admin_key: Some(ADMIN.into()),
            ledger_id: Some("test".into()),
            fee_bps: Some(fee_bps),
            master_key: Some(MASTER_KEY.into()),
            ..args.clone()
        }
        .resolve()
        .unwrap();
        let opened = paywire_server::open(&settings).await.unwrap();
        assert!(
            opened.admin_key.is_none(),
            "a configured admin key is used as is"
        );
        assert!(
            opened.master_key_file.is_none(),
            "a given master key writes no file"
        );
        let router = paywire_server::router(opened.server());
        TestApp {
            state: opened.state,
            settlement: opened.settlement,
            router,
            url,
            fee_bps,
            cleanup,
            args,
        }
    }

    /// Closes the pool and removes the database.
    pub async fn finish(self) {
        self.state.pool.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
            }
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&bytes)}));
        (status, value)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(method, path, key, body).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.call(Method::POST, path, Some(ADMIN), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {value}");
        value
    }

    pub async fn provider(&self, evm_address: Option<&str>) -> Party {
        let created = self
            .admin_post(
                "/v1/providers",
                json!({"name": "Weather Co", "evmAddress": evm_address}),
            )
            .await;
        Party::from(created)
    }

    pub async fn agent(&self, policy: Value, funds: &str) -> Party {
        let created = self
            .admin_post("/v1/agents", json!({"name": "agent", "policy": policy}))
            .await;
        let party = Party::from(created);
        if funds != "0" {
            self.admin_post(
                &format!("/v1/wallets/{}/fund", party.wallet),
                json!({"amount": funds}),
            )
            .await;
        }
        party
    }

    /// A wallet's balance of `asset` in atomic units (0 when it has none).
    pub async fn balance(&self, wallet: &str, asset: &str) -> i64 {
        let (status, value) = self
            .call(
                Method::GET,
                &format!("/v1/wallets/{wallet}"),
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == asset)
            .map_or(0, |b| b["atomic"].as_str().unwrap().parse().unwrap())
    }

    /// Every text value in every table, one per line: to prove a secret is stored nowhere.
    pub async fn dump_text(&self) -> String {
        use sqlx::Row;
        let tables = match self.state.dialect {
            paywire_server::store::db::Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            }
            paywire_server::store::db::Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
            }
        };
        let names: Vec<String> = sqlx::query(tables)
            .fetch_all(&self.state.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect();
        let mut dump = String::new();
        for table in names.iter().filter(|t| !t.starts_with("_sqlx")) {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_all(&self.state.pool)
                .await
                .unwrap();
            for row in rows {
                for i in 0..row.len() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        dump.push_str(&text);
                        dump.push('\n');
                    }
                }
            }
        }
        dump
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_one(&self.state.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    /// Every journal entry sums to zero, and the balances equal the journal's totals.
    pub async fn assert_books_balance(&self) {
        use sqlx::Row;
        let unbalanced =
            sqlx::query("SELECT entry_id FROM journal GROUP BY entry_id HAVING SUM(amount) <> 0")
                .fetch_all(&self.state.pool)
                .await
                .unwrap();
        assert!(
            unbalanced.is_empty(),
            "{} journal entries do not sum to zero",
            unbalanced.len()
        );
        let rows = sqlx::query(
            "SELECT b.wallet_id, b.asset, b.amount, CAST((SELECT COALESCE(SUM(j.amount), 0) FROM journal j WHERE j.wallet_id = b.wallet_id AND j.asset = b.asset) AS BIGINT) AS posted FROM balances b",
        )
        .fetch_all(&self.state.pool)
        .await
        .unwrap();
        for row in rows {
            let amount: i64 = row.try_get("amount").unwrap();
            let posted: i64 = row.try_get("posted").unwrap();
            assert_eq!(
                amount,
                posted,
                "balance of {} disagrees with its journal",
                row.try_get::<String, _>("wallet_id").unwrap()
            );
        }
    }

    pub fn ledger_requirements(&self, pay_to: &str, amount: u128) -> Value {
        json!({"scheme": "exact", "network": self.state.ledger_network, "amount": amount.to_string(),
               "asset": "USD", "payTo": pay_to, "maxTimeoutSeconds": 60})
    }

    /// A facilitator request body paying `amount` atomic units from `agent` to `provider`.
    pub fn ledger_payment(
        &self,
        agent: &Party,
        provider: &Party,
        amount: u128,
        nonce: [u8; 32],
    ) -> Value {
        let requirements = self.ledger_requirements(&provider.wallet, amount);
        let typed: AnyRequirements =
            AnyRequirements::V2(serde_json::from_value(requirements.clone()).unwrap());
        let secret = WalletSecret::from_hex(agent.secret.as_deref().unwrap()).unwrap();
        let exact = ledger::sign_payment(
            &typed,
            &agent.wallet,
            &secret,
            &nonce,
            paywire_server::base::util::now(),
        )
        .unwrap();
        json!({"x402Version": 2,
            "paymentPayload": {"x402Version": 2, "resource": {"url": "https://api.example.com/weather"},
                "accepted": requirements, "payload": exact.to_object()},
            "paymentRequirements": requirements})
    }

    pub async fn settle(&self, body: &Value) -> Value {
        let (status, value) = self
            .call(Method::POST, "/settle", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }

    pub async fn verify(&self, body: &Value) -> Value {
        let (status, value) = self
            .call(Method::POST, "/verify", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }
}

pub struct Party {
    pub id: String,
    pub wallet: String,
    pub key: String,
    pub secret: Option<String>,
}

impl From<Value> for Party {
    fn from(created: Value) -> Self {
        Party {
            id: created["id"].as_str().unwrap().into(),
            wallet: created["walletId"].as_str().unwrap().into(),
            key: created["apiKey"].as_str().unwrap().into(),
            secret: created["walletSecret"].as_str().map(str::to_string),
        }
    }
}

pub fn nonce(i: u64) -> [u8; 32] {
    let mut n = [0u8; 32];
    n[..8].copy_from_slice(&i.to_be_bytes());
    n[8..16].copy_from_slice(&crate::common::random8());
    n
}

pub fn random8() -> [u8; 8] {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    b
}

/// Generates one test per backend for an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}
