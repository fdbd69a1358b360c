//! Run with: `cargo run -p paywire-sandbox` — the whole loop on this machine: the settlement
//! server (on ./paywire-demo.db unless --database-url says otherwise), a provider's API behind
//! paywire-axum on the next port, and an agent paying it through paywire-reqwest, each step
//! printed. A second run reuses the first run's provider and agent; `--fresh` starts over.

use clap::Parser;
use paywire_server::app::settings::SettingsArgs;

/// The demo's database when none is given.
const DEMO_DATABASE_URL: &str = "sqlite://paywire-demo.db";

/// The Paywire demo: a settlement server, a paid API and a paying agent, in one process.
#[derive(Parser)]
#[command(
    name = "paywire-demo",
    version,
    about,
    mut_arg("database_url", |arg| arg.help(
        "`sqlite://file.db` (created if missing) or `postgres://...` [default: sqlite://paywire-demo.db]"
    )),
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Stop after this many settled payments (default: run the script, then serve until
    /// Ctrl-C).
    #[arg(long)]
    payments: Option<u64>,
    /// Keep serving after the payments (with --payments): the dashboard then shows them.
    #[arg(long)]
    serve: bool,
    /// Start over: delete the demo's SQLite database first, instead of reusing the provider and
    /// agent of an earlier run.
    #[arg(long)]
    fresh: bool,
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
    let mut args = cli.settings;
    args.database_url
        .get_or_insert_with(|| DEMO_DATABASE_URL.into());
    let settings = args.resolve()?;
    if cli.fresh {
        start_over(&settings)?;
    }
    // The demo tells its story on stdout; the logs stay quiet unless asked for.
    paywire_server::base::observe::init_logging(settings.log_json, "warn");
    let options = paywire_sandbox::DemoOptions {
        payments: cli.payments,
        serve: cli.serve || cli.payments.is_none(),
    };
    paywire_sandbox::run_demo(&settings, options).await
}

/// Deletes the SQLite database of `settings` (with its WAL). The master key file stays: the
/// server of `./paywire.db` may share it, and a new database takes an existing key.
fn start_over(settings: &paywire_server::app::settings::Settings) -> Result<(), String> {
    let url = &settings.database_url;
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(
            "--fresh deletes a SQLite database only; drop a PostgreSQL database yourself".into(),
        );
    };
    let path = path.split('?').next().unwrap_or_default();
    for suffix in ["", "-wal", "-shm"] {
        remove_if_present(&format!("{path}{suffix}"))?;
    }
    Ok(())
}

fn remove_if_present(path: &str) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot delete {path}: {e}")),
    }
}
