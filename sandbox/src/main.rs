//! Run with: `cargo run --release -p paywire-sandbox` — the whole loop on this machine: the
//! settlement server (on ./paywire-demo.db unless --database-url says otherwise), a
//! provider's API behind paywire-axum on the next port, and an agent paying it through
//! paywire-reqwest, each step printed.

use clap::Parser;
use paywire_server::app::settings::SettingsArgs;

/// The Paywire demo: a settlement server, a paid API and a paying agent, in one process.
#[derive(Parser)]
#[command(name = "paywire-demo", version, about)]
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
        .get_or_insert_with(|| "sqlite://paywire-demo.db".into());
    let settings = args.resolve()?;
    // The demo tells its story on stdout; the logs stay quiet unless asked for.
    paywire_server::base::observe::init_logging(settings.log_json, "warn");
    let options = paywire_sandbox::DemoOptions {
        payments: cli.payments,
        serve: cli.serve || cli.payments.is_none(),
    };
    paywire_sandbox::run_demo(&settings, options).await
}
