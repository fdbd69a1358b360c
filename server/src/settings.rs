//! Settings from flags, `PAYWIRE_*` environment variables and an optional TOML file, in that
//! order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4020";
/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paywire.db";
/// The default Paywire ledger id (network `paywire:main`).
pub const DEFAULT_LEDGER_ID: &str = "main";

/// Settings as flags and environment variables; unset ones fall back to the TOML file, then
/// to the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// A TOML file with any of the settings below (keys as in `listen = "..."`).
    #[arg(long, env = "PAYWIRE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to serve on [default: 127.0.0.1:4020].
    #[arg(long, env = "PAYWIRE_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// `sqlite://file.db` (created if missing) or `postgres://...` [default: sqlite://paywire.db].
    #[arg(long, env = "PAYWIRE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The operator's admin key; generated and printed once on first start when absent.
    #[arg(long, env = "PAYWIRE_ADMIN_KEY", global = true, hide_env_values = true)]
    pub admin_key: Option<String>,
    /// The ledger id: payments on this ledger use network `paywire:<ledger-id>` [default: main].
    #[arg(long, env = "PAYWIRE_LEDGER_ID", global = true)]
    pub ledger_id: Option<String>,
    /// The platform fee in basis points taken from every settlement [default: 0].
    #[arg(long, env = "PAYWIRE_FEE_BPS", global = true)]
    pub fee_bps: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    admin_key: Option<String>,
    ledger_id: Option<String>,
    fee_bps: Option<u32>,
}

/// The resolved settings.
#[derive(Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The database URL.
    pub database_url: String,
    /// The admin key, if configured (else the stored one is used or generated).
    pub admin_key: Option<String>,
    /// The ledger id.
    pub ledger_id: String,
    /// The platform fee in basis points.
    pub fee_bps: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("ledger_id", &self.ledger_id)
            .field("fee_bps", &self.fee_bps)
            .finish()
    }
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl SettingsArgs {
    /// Merges flags and environment over the TOML file over the defaults.
    pub fn resolve(&self) -> Result<Settings, String> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let settings = Settings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            database_url: self
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            admin_key: self.admin_key.clone().or(file.admin_key),
            ledger_id: self
                .ledger_id
                .clone()
                .or(file.ledger_id)
                .unwrap_or_else(|| DEFAULT_LEDGER_ID.into()),
            fee_bps: self.fee_bps.or(file.fee_bps).unwrap_or(0),
        };
        if settings.fee_bps > 10_000 {
            return Err("fee_bps must be at most 10000".into());
        }
        let network = format!("paywire:{}", settings.ledger_id);
        if !paywire_core::protocol::ledger::is_ledger_network(&network) {
            return Err(format!(
                "ledger id {:?} is not a valid CAIP-2 reference",
                settings.ledger_id
            ));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = SettingsArgs::default().resolve().unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(settings.ledger_id, "main");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("paywire-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("paywire.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nfee_bps = 250\nledger_id = \"file\"\n",
        )
        .unwrap();
        let args = SettingsArgs {
            config: Some(path.clone()),
            ledger_id: Some("flag".into()),
            ..Default::default()
        };
        let settings = args.resolve().unwrap();
        assert_eq!(settings.listen.port(), 9999);
        assert_eq!(settings.fee_bps, 250);
        assert_eq!(settings.ledger_id, "flag");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(args.resolve().unwrap_err().contains("unknown field"));
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(SettingsArgs {
            fee_bps: Some(10_001),
            ..Default::default()
        }
        .resolve()
        .is_err());
        assert!(SettingsArgs {
            ledger_id: Some("no spaces".into()),
            ..Default::default()
        }
        .resolve()
        .is_err());
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:<redacted>@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://paywire.db"), "sqlite://paywire.db");
    }
}
