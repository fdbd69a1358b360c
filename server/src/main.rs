//! Run with: `cargo run --release -p paywire-server` (serves on 127.0.0.1:4020 with ./paywire.db)

use clap::{Parser, Subcommand};
use paywire_server::app::settings::SettingsArgs;

/// Paywire's settlement server: an x402 facilitator over a double-entry ledger.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a provider; prints its id, payout wallet and API key.
    CreateProvider {
        /// A display name.
        name: String,
        /// The EVM address it is paid at on devnet networks.
        #[arg(long)]
        evm_address: Option<String>,
    },
    /// Create an agent; prints its id, wallet, wallet secret and API key.
    CreateAgent {
        /// A display name.
        name: String,
        /// A spending policy as JSON, e.g. '{"dailyLimit":"5.00"}'.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Deposit ledger dollars into a wallet.
    Fund {
        /// The wallet id.
        wallet_id: String,
        /// Whole units, e.g. 10.00.
        amount: String,
    },
    /// Sign a ledger payment for a 402 and print the body to POST to /settle (a development
    /// aid for the curl walk-through; agents use the bindings).
    SignPayment {
        /// The paying wallet id.
        #[arg(long)]
        wallet_id: String,
        /// The wallet's signing secret (hex).
        #[arg(long, env = "PAYWIRE_WALLET_SECRET", hide_env_values = true)]
        secret: String,
        /// The 402 body (PaymentRequired JSON, v1 or v2), e.g. the `paymentRequired` of a quote.
        #[arg(long)]
        payment_required: String,
        /// Which of its `accepts` to pay.
        #[arg(long, default_value_t = 0)]
        index: usize,
    },
    /// Create another API key for a tenant (e.g. an owner key with `read,manage`).
    CreateApiKey {
        /// The tenant id.
        tenant_id: String,
        /// Scopes (read, write, manage).
        #[arg(long, value_delimiter = ',', default_value = "read,write")]
        scopes: Vec<String>,
    },
    /// Re-seal every secret at rest under a new master key, print it once, and write it to
    /// the master key file when the key comes from one. Restart every server with the new key.
    RotateMasterKey,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(message) = run(cli).await {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Some(Command::SignPayment {
        wallet_id,
        secret,
        payment_required,
        index,
    }) = &cli.command
    {
        // Needs no database: signing happens in paywire-core.
        return sign_payment(wallet_id, secret, payment_required, *index);
    }
    let settings = cli.settings.resolve()?;
    let opened = paywire_server::open(&settings).await?;
    let server = opened.server();
    let state = opened.state;
    if let Some(key) = &opened.admin_key {
        eprintln!(
            "Generated the operator admin key (shown once; keep it safe, and pass it as \
             PAYWIRE_ADMIN_KEY rather than a flag):\n  {key}"
        );
    }
    if let Some(path) = &opened.master_key_file {
        eprintln!(
            "Generated the master key sealing secrets at rest and wrote it to {} (mode 0600). \
             Keep it apart from the database's backups; servers sharing this database need it \
             too (PAYWIRE_MASTER_KEY or master_key_file).",
            path.display()
        );
    }
    let print = |value: serde_json::Value| {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    };
    let call = |e: paywire_server::base::error::ApiError| format!("{}: {e}", e.code());
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            paywire_server::base::observe::init_logging(settings.log_json, "info");
            // Bound first: "listening" is said only once a client can connect (and the address
            // is the one bound, a port 0 resolved).
            let listener = paywire_server::app::run::listen(settings.listen)?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!(
                "paywire-server listening on http://{address} ({:?}, network {})",
                state.dialect, state.ledger_network
            );
            paywire_server::serve_on(
                listener,
                settings.limits,
                server,
                paywire_server::app::run::shutdown_signal(),
            )
            .await
        }
        Command::Migrate => {
            eprintln!("migrations applied");
            Ok(())
        }
        Command::CreateProvider { name, evm_address } => {
            let created = paywire_server::api::tenants::create_provider(&state, &name, evm_address)
                .await
                .map_err(call)?;
            print(serde_json::to_value(created).unwrap_or_default());
            Ok(())
        }
        Command::CreateAgent { name, policy } => {
            let policy = policy
                .map(|p| serde_json::from_str(&p))
                .transpose()
                .map_err(|e| format!("policy: {e}"))?;
            let created = paywire_server::api::tenants::create_agent(&state, &name, policy)
                .await
                .map_err(call)?;
            print(serde_json::to_value(created).unwrap_or_default());
            Ok(())
        }
        Command::Fund { wallet_id, amount } => {
            let funded =
                paywire_server::api::wallets::fund_ledger(&state, &wallet_id, &amount, None)
                    .await
                    .map_err(call)?;
            print(serde_json::to_value(funded).unwrap_or_default());
            Ok(())
        }
        Command::SignPayment {
            wallet_id,
            secret,
            payment_required,
            index,
        } => sign_payment(&wallet_id, &secret, &payment_required, index),
        Command::CreateApiKey { tenant_id, scopes } => {
            if let Some(bad) = scopes
                .iter()
                .find(|s| !paywire_server::services::auth::SCOPES.contains(&s.as_str()))
            {
                return Err(format!("unknown scope {bad:?}: use read, write, manage"));
            }
            let kind = sqlx_kind(&state, &tenant_id).await?;
            let key = paywire_server::services::auth::create_api_key(
                &state.pool,
                &tenant_id,
                &kind,
                &scopes,
            )
            .await
            .map_err(call)?;
            print(
                serde_json::json!({"tenantId": tenant_id, "id": key.id, "apiKey": key.key, "scopes": scopes}),
            );
            Ok(())
        }
        Command::RotateMasterKey => {
            let new_key = paywire_server::infra::secrets::MasterKey::generate();
            let count = paywire_server::infra::secrets::rotate_master_key(
                &state.pool,
                state.dialect,
                &state.sealer,
                &new_key,
            )
            .await
            .map_err(call)?;
            if let paywire_server::infra::secrets::KeySource::File(path) = &settings.master_key {
                let previous = path.with_extension("key.previous");
                std::fs::rename(path, &previous)
                    .map_err(|e| format!("cannot move {} aside: {e}", path.display()))?;
                write_secret_file(path, new_key.to_hex().as_str())?;
                eprintln!(
                    "re-sealed {count} secrets under master key {}; wrote it to {} (the old key \
                     is in {}: delete it once every server runs with the new one)",
                    new_key.id(),
                    path.display(),
                    previous.display()
                );
            } else {
                eprintln!(
                    "re-sealed {count} secrets under master key {}; set PAYWIRE_MASTER_KEY to \
                     this (shown once) and restart every server:",
                    new_key.id()
                );
                println!("{}", new_key.to_hex().as_str());
            }
            Ok(())
        }
    }
}

async fn sqlx_kind(state: &paywire_server::AppState, tenant_id: &str) -> Result<String, String> {
    paywire_server::store::tenants::kind(&state.pool, tenant_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant {tenant_id}"))
}

fn write_secret_file(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn sign_payment(
    wallet_id: &str,
    secret: &str,
    payment_required: &str,
    index: usize,
) -> Result<(), String> {
    use paywire_core::protocol::ledger::{self, WalletSecret};
    let value: serde_json::Value =
        serde_json::from_str(payment_required).map_err(|e| format!("payment-required: {e}"))?;
    let required =
        paywire_core::PaymentRequired::from_json_value(value).map_err(|e| e.to_string())?;
    let requirements = required.requirements(index).map_err(|e| e.to_string())?;
    let secret = WalletSecret::from_hex(secret).map_err(|e| e.to_string())?;
    let nonce = paywire_server::base::util::random_bytes::<32>();
    let exact = ledger::sign_payment(
        &requirements,
        wallet_id,
        &secret,
        &nonce,
        paywire_server::base::util::now(),
    )
    .map_err(|e| format!("{}: {e}", e.code()))?;
    let payment = required
        .payment(index, exact.to_object())
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({"x402Version": payment.version(), "paymentPayload": payment, "paymentRequirements": requirements});
    println!("{body}");
    Ok(())
}
