//! Opening a server (database, migrations, secrets, platform wallets, the operator key) and
//! serving its router over HTTP/1.1 with the connection limits, until shutdown.

use std::future::Future;
use std::sync::Arc;

use crate::api::tenants;
use crate::app::router::router_with;
use crate::app::settings::{Limits, Settings};
use crate::base::ledger::DEVNET_NETWORKS;
use crate::base::limits::{MAX_HEADER_COUNT, MAX_READ_BUFFER};
use crate::base::util;
use crate::infra::secrets;
use crate::services::state::AppState;
use crate::services::{auth, tokens};
use crate::settle::{Server, Settlement};
use crate::store::db;

/// Connects, migrates, opens the secrets, creates the platform wallets and makes sure an
/// operator key exists. Returns the state and what was generated now and must be shown once:
/// the admin key, and the path of a new master key file.
pub async fn open(settings: &Settings) -> Result<Opened, String> {
    let (pool, dialect) = db::connect(&settings.database_url).await?;
    if dialect == db::Dialect::Sqlite {
        spawn_checkpointer(pool.clone());
    }
    db::migrate(&pool).await?;
    let (master_key, master_key_file) =
        secrets::resolve_master_key(&pool, &settings.master_key).await?;
    let sealer = secrets::Sealer::new(master_key);
    secrets::seal_legacy_values(&pool, &sealer).await?;
    let token_keys = tokens::load_key_ring(&pool, &sealer).await?;
    let state = AppState {
        pool: pool.clone(),
        dialect,
        ledger_network: format!("paywire:{}", settings.ledger_id),
        devnet_networks: DEVNET_NETWORKS.iter().map(|s| s.to_string()).collect(),
        chains: crate::chain::Chains::open(&settings.chains)?,
        fee_bps: settings.fee_bps,
        token_keys: Arc::new(token_keys),
        sealer,
        idempotency: paywire_core::idempotency::IdempotencyConfig {
            lease_seconds: settings.idempotency_lease_seconds,
            ..Default::default()
        },
        allow_loopback_webhooks: settings.allow_loopback_webhooks,
        webhooks: settings.webhooks,
        payout_minimum: settings.payout_minimum.clone(),
        rate_limits: crate::infra::ratelimit::RateLimits {
            per_key: crate::infra::ratelimit::Limit::new("api_key", settings.rate_limit_key),
            per_payer: crate::infra::ratelimit::Limit::new("payer", settings.rate_limit_payer),
            chain_vouch_client: crate::infra::ratelimit::Limit::new(
                "chain_vouch_client",
                settings.chain_vouch_client,
            ),
            chain_vouch_payer: crate::infra::ratelimit::Limit::new(
                "chain_vouch_payer",
                settings.chain_vouch_payer,
            ),
        },
        tasks: tokio_util::task::TaskTracker::new(),
    };
    tenants::ensure_platform_wallets(&state)
        .await
        .map_err(|e| e.to_string())?;
    let admin_key = auth::ensure_operator_key(&state, settings.admin_key.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Opened {
        state,
        settlement: Settlement::batched(
            settings.settle_batch_workers,
            settings.settle_batch_max,
            settings.settle_batch_wait,
        ),
        admin_key,
        master_key_file,
    })
}

/// How often SQLite's write-ahead log is copied into the database file, in the background.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// Copies SQLite's write-ahead log into the database file every [`CHECKPOINT_INTERVAL`], until
/// the pool closes. By default SQLite does it inside whichever commit takes the log past 1,000
/// pages, and that commit — a settlement batch, holding the only write lock — waits for the
/// copy and its fsync (measured: settling 1,000 payers' payments went from 3,469–3,551/s to
/// 3,863–4,018/s in one A/B run with this). A passive checkpoint on another connection never
/// blocks the writer; durability is the log's (`synchronous=FULL` syncs it at every commit).
pub fn spawn_checkpointer(pool: sqlx::AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = crate::store::meta::checkpoint(&pool).await {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "a WAL checkpoint failed; the next one retries");
            }
        }
    });
}

/// An opened server, and what was generated on this start.
pub struct Opened {
    /// The state handlers share.
    pub state: AppState,
    /// The settlement layer's own: the group-commit pipeline, when batching is on.
    pub settlement: Settlement,
    /// The operator key, when generated now (shown once).
    pub admin_key: Option<String>,
    /// Where a master key generated now was written.
    pub master_key_file: Option<std::path::PathBuf>,
}

impl Opened {
    /// The router's state: the shared state and the settlement layer's own.
    pub fn server(&self) -> Server {
        Server {
            state: self.state.clone(),
            settlement: self.settlement.clone(),
        }
    }
}

/// The header timeout of a connection accepted while fewer than an eighth of the connection
/// slots are free, or were within the last header timeout (see [`serve_on`]).
pub const PRESSED_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The write timeout of a connection accepted under the same pressure: an answer of this
/// server is written out in milliseconds to a client that reads it.
pub const PRESSED_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves on `settings.listen` until Ctrl-C or SIGTERM (see [`serve_on`]).
pub async fn serve(settings: &Settings, server: Server) -> Result<(), String> {
    let listener = listen(settings.listen)?;
    serve_on(listener, settings.limits, server, shutdown_signal()).await
}

/// Connections the kernel holds for the accept loop at most (Linux caps it at
/// `net.core.somaxconn`, 4096 by default).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `address` with a [`LISTEN_BACKLOG`] queue. The standard library's bind asks
/// for 128: when every connection slot is held, new clients queue in the kernel, and past the
/// queue their SYNs are dropped and retried with backoff (1, 3, 7 s…) — measured under a
/// slow-loris from 8 addresses: 23,952 overflows in 20 s, real clients waiting up to 19 s.
pub fn listen(address: std::net::SocketAddr) -> Result<tokio::net::TcpListener, String> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    };
    let bound = socket.and_then(|socket| {
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        socket.listen(LISTEN_BACKLOG)
    });
    bound.map_err(|e| format!("cannot listen on {address}: {e}"))
}

/// Serves on `listener` until `shutdown` completes, then stops accepting, lets in-flight
/// requests (and the settlements they started) finish, and returns.
///
/// Each connection gets [`Limits::header_read_timeout`] to send each request's headers
/// (idle keep-alive connections included): a client that sends half its headers, or nothing,
/// is cut off; and [`Limits::write_timeout`] for each answer to be written out, so a client
/// that sends requests and never reads the answers is cut off too
/// ([`crate::infra::connection::WriteDeadline`]). At most [`Limits::max_connections`] are served at
/// once; further ones wait in the listen queue, so a flood of slow sockets cannot starve the
/// process; one client address holds at most [`Limits::max_connections_per_client`] of them,
/// and its connections past that are answered 429 (`too_many_connections`) and closed at once;
/// a connection accepted while fewer than an eighth of the slots are free (or were, within
/// the last header timeout) gets at most [`PRESSED_HEADER_READ_TIMEOUT`] for each head and
/// [`PRESSED_WRITE_TIMEOUT`] for each answer.
/// HTTP/1.1 only: HTTP/2's preface would be read before any header timeout runs.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    limits: Limits,
    server: Server,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let state = server.state.clone();
    let sweeper = state.clone();
    let sweeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = tokens::sweep(&sweeper, util::now()).await {
                tracing::warn!(error = %e, "sweep failed");
            }
            sweeper.rate_limits.per_key.sweep();
            sweeper.rate_limits.per_payer.sweep();
            sweeper.rate_limits.chain_vouch_client.sweep();
            sweeper.rate_limits.chain_vouch_payer.sweep();
        }
    });
    let sender = crate::services::delivery::spawn(state.clone());
    let reconciler = crate::settle::chain::start_reconciler(state.clone());
    let router = router_with(server, limits);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let clients = crate::infra::connection::ClientSlots::new(limits.max_connections_per_client);
    let refusing = Arc::new(tokio::sync::Semaphore::new(
        crate::infra::connection::REFUSALS_AT_ONCE,
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_READ_BUFFER)
        .max_headers(MAX_HEADER_COUNT * 4);
    // Under pressure (fewer than an eighth of the slots free, at any time in the last header
    // timeout), a new connection gets PRESSED_HEADER_READ_TIMEOUT for each head: slow sockets
    // from many addresses, each within its per-client cap, then give their slots back within
    // a second instead of the full header timeout, while a real client sends its head in
    // milliseconds. The pressure outlasts the moment (a cohort of slow sockets expiring at
    // once frees every slot, and the next cohort would otherwise get the full timeout again).
    let mut pressed = http.clone();
    pressed.header_read_timeout(limits.header_read_timeout.min(PRESSED_HEADER_READ_TIMEOUT));
    let pressure_below = (limits.max_connections / 8).max(1);
    let mut pressed_at: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(|e| e.to_string())?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // back off briefly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(client) = clients.take(peer.ip()) else {
            crate::infra::metrics::connection_refused();
            drop(slot);
            crate::infra::connection::refuse(stream, &refusing);
            continue;
        };
        if slots.available_permits() < pressure_below {
            pressed_at = Some(tokio::time::Instant::now());
        }
        let under_pressure = pressed_at.is_some_and(|at| at.elapsed() < limits.header_read_timeout);
        let _ = stream.set_nodelay(true);
        let write_timeout = if under_pressure {
            limits.write_timeout.min(PRESSED_WRITE_TIMEOUT)
        } else {
            limits.write_timeout
        };
        let stream = crate::infra::connection::WriteDeadline::new(stream, write_timeout);
        // Handlers that limit by client (the chain's vouching) read its address here.
        let client_addr = crate::infra::connection::ClientAddr(peer.ip());
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                router.clone(),
                move |mut request: axum::http::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(client_addr);
                    request
                },
            ));
        let builder = if under_pressure { &pressed } else { &http };
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(client);
            drop(slot);
        });
    }
    drop(listener);
    sweeping.abort();
    if let Some(reconciler) = reconciler {
        reconciler.abort();
    }
    // Requests in flight are answered, idle connections closed; then the mutations those
    // requests started (which run to completion whatever their client does) end too.
    let deadline = limits.request_timeout + limits.header_read_timeout;
    if tokio::time::timeout(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?deadline, "shutdown: connections still open; closing them");
    }
    state.tasks.close();
    state.tasks.wait().await;
    // Deliveries in progress end and are recorded; what is left waits in the outbox.
    sender.stop().await;
    state.pool.close().await;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
