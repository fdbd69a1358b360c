//! Secrets the server must keep — wallet signing secrets, webhook secrets, token keys — sealed
//! at rest with AES-256-GCM under a master key the database never holds.
//!
//! A sealed value reads `sealed:v1:<kid>:<base64(nonce ‖ ciphertext ‖ tag)>`: `kid` names the
//! master key (the first 8 bytes of its SHA-256, in hex), the nonce is 12 random bytes per
//! value, and the associated data binds the value to its place (`wallets.secret:<wallet id>`),
//! so a sealed value copied into another row does not open. The master key comes from the
//! settings (`PAYWIRE_MASTER_KEY`, or a key file); on a database that has never had one, a key
//! is generated, written to the key file (mode 0600) and printed once. `meta.master_key_id`
//! records which key seals the database, so a wrong key is a clear error at start-up, not a
//! failure at the first payment. `paywire-server rotate-master-key` re-seals everything under a
//! new key in one transaction.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use zeroize::Zeroizing;

use crate::base::error::ApiError;
use crate::store;
use crate::store::db::Dialect;
use crate::store::meta::SealedColumn;

/// The prefix of every sealed value (format version 1).
pub const SEALED_PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// A 32-byte AES-256 key. Redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Self {
        MasterKey(Zeroizing::new(crate::base::util::random_bytes::<32>()))
    }

    /// A key from 64 hex digits (surrounding whitespace ignored, as in a key file).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), key.as_mut())
            .map_err(|_| "a master key is 64 hex digits (32 bytes)".to_string())?;
        Ok(MasterKey(key))
    }

    /// The key as 64 hex digits, to print once or write to its file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// The key's id: the first 8 bytes of SHA-256 over a label and the key, in hex. Safe to
    /// store and show: it names the key without revealing it.
    pub fn id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"paywire master key id\0");
        hasher.update(self.0.as_ref());
        hex::encode(&hasher.finalize()[..8])
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.id())
    }
}

/// Seals and opens secrets under one master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
    kid: String,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealer({})", self.kid)
    }
}

/// A sealed value that does not open: another key, another place, or tampered bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret does not open: {0}")]
pub struct SealError(&'static str);

impl Sealer {
    /// A sealer under `key`.
    pub fn new(key: MasterKey) -> Self {
        Sealer {
            cipher: Aes256Gcm::new_from_slice(key.0.as_ref()).expect("a 32-byte key"),
            kid: key.id(),
        }
    }

    /// The master key's id.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// Seals `secret` for the place `aad` names (e.g. `wallets.secret:wal_…`).
    pub fn seal(&self, secret: &[u8], aad: &str) -> String {
        let nonce_bytes = crate::base::util::random_bytes::<NONCE_LEN>();
        let nonce = aes_gcm::Nonce::from(nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message below 64 GiB");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce_bytes);
        bytes.extend_from_slice(&sealed);
        format!(
            "{SEALED_PREFIX}{}:{}",
            self.kid,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// Opens a value sealed for the place `aad` names.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let rest = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError("not a sealed value"))?;
        let (kid, body) = rest.split_once(':').ok_or(SealError("no key id"))?;
        if kid != self.kid {
            return Err(SealError("sealed under another master key"));
        }
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| SealError("not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError("too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = aes_gcm::Nonce::try_from(nonce).map_err(|_| SealError("bad nonce"))?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError("authentication failed"))
    }
}

/// The associated data of a wallet's signing secret.
pub fn wallet_aad(wallet_id: &str) -> String {
    format!("wallets.secret:{wallet_id}")
}

/// The associated data of a provider's webhook secret.
pub fn webhook_aad(tenant_id: &str) -> String {
    format!("tenants.webhook_secret:{tenant_id}")
}

/// The associated data of a token key.
pub fn token_key_aad(kid: &str) -> String {
    format!("token_keys.secret:{kid}")
}

/// Where the master key comes from, as the settings say.
#[derive(Clone)]
pub enum KeySource {
    /// Given directly (`PAYWIRE_MASTER_KEY`, or the config file).
    Given(MasterKey),
    /// A file holding 64 hex digits; created with a new key when missing on a database that
    /// has none yet.
    File(std::path::PathBuf),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Given(key) => write!(f, "Given({key:?})"),
            KeySource::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

/// The master key to open this database with; `Some(path)` as well when it was generated now
/// (and written there), so the caller prints it once.
pub async fn resolve_master_key(
    pool: &AnyPool,
    source: &KeySource,
) -> Result<(MasterKey, Option<std::path::PathBuf>), String> {
    let recorded = recorded_key_id(pool).await?;
    let (key, generated) = match source {
        KeySource::Given(key) => (key.clone(), None),
        KeySource::File(path) => match std::fs::read_to_string(path) {
            Ok(text) => (
                MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))?,
                None,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && recorded.is_none() => {
                let key = MasterKey::generate();
                write_key_file(path, &key)?;
                (key, Some(path.clone()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "this database is sealed under master key {} but no key was given: set \
                     PAYWIRE_MASTER_KEY or master_key_file (looked for {})",
                    recorded.unwrap_or_default(),
                    path.display()
                ))
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        },
    };
    match recorded {
        Some(recorded) if recorded != key.id() => Err(format!(
            "the master key given ({}) is not the one this database is sealed under ({recorded})",
            key.id()
        )),
        Some(_) => Ok((key, generated)),
        None => {
            record_key_id(pool, &key.id()).await?;
            Ok((key, generated))
        }
    }
}

fn write_key_file(path: &std::path::Path, key: &MasterKey) -> Result<(), String> {
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
    file.write_all(format!("{}\n", key.to_hex().as_str()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The `meta` fact naming the master key that seals this database.
const MASTER_KEY_ID: &str = "master_key_id";

async fn recorded_key_id(pool: &AnyPool) -> Result<Option<String>, String> {
    store::meta::get(pool, MASTER_KEY_ID)
        .await
        .map_err(|e| e.to_string())
}

async fn record_key_id(pool: &AnyPool, kid: &str) -> Result<(), String> {
    store::meta::insert(pool, MASTER_KEY_ID, kid)
        .await
        .map_err(|e| e.to_string())
}

/// The associated data of a sealed value, from its row's key.
type AadOf = fn(&str) -> String;

/// Every sealed column, and the associated data of a row's value.
const SEALED_COLUMNS: &[(SealedColumn, AadOf)] = &[
    (
        SealedColumn {
            table: "wallets",
            key: "id",
            column: "secret_sealed",
        },
        wallet_aad,
    ),
    (
        SealedColumn {
            table: "tenants",
            key: "id",
            column: "webhook_secret_sealed",
        },
        webhook_aad,
    ),
    (
        SealedColumn {
            table: "token_keys",
            key: "kid",
            column: "secret_sealed",
        },
        token_key_aad,
    ),
];

/// Seals values a database from before sealing kept in clear (hex), under the current key.
/// Runs at start-up; a no-op once everything is sealed.
pub async fn seal_legacy_values(pool: &AnyPool, sealer: &Sealer) -> Result<u64, String> {
    let mut sealed = 0;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    for (at, aad) in SEALED_COLUMNS {
        let rows = store::meta::sealed_values(&mut conn, *at, true)
            .await
            .map_err(|e| e.to_string())?;
        for (id, clear) in rows {
            let value = sealer.seal(clear.as_bytes(), &aad(&id));
            store::meta::set_sealed(&mut conn, *at, &id, &value)
                .await
                .map_err(|e| e.to_string())?;
            sealed += 1;
        }
    }
    Ok(sealed)
}

/// Re-seals every secret under `new_key` in one transaction and records its id; the old key
/// opens nothing afterwards. Servers still running with the old key must be restarted with the
/// new one (they refuse to start with the old).
pub async fn rotate_master_key(
    pool: &AnyPool,
    dialect: Dialect,
    current: &Sealer,
    new_key: &MasterKey,
) -> Result<u64, ApiError> {
    let new_sealer = Sealer::new(new_key.clone());
    let mut tx = pool.begin_with(dialect.begin_write()).await?;
    let mut count = 0;
    for (at, aad) in SEALED_COLUMNS {
        for (id, sealed) in store::meta::sealed_values(&mut tx, *at, false).await? {
            let clear = current
                .open(&sealed, &aad(&id))
                .map_err(|e| ApiError::Internal(format!("{} {id}: {e}", at.table)))?;
            store::meta::set_sealed(&mut tx, *at, &id, &new_sealer.seal(&clear, &aad(&id))).await?;
            count += 1;
        }
    }
    store::meta::set(&mut tx, MASTER_KEY_ID, &new_key.id()).await?;
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_in_its_place() {
        let key = MasterKey::generate();
        let sealer = Sealer::new(key.clone());
        let sealed = sealer.seal(b"wallet secret", "wallets.secret:wal_1");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("wallet secret"));
        assert_eq!(
            sealer
                .open(&sealed, "wallets.secret:wal_1")
                .unwrap()
                .as_slice(),
            b"wallet secret"
        );
        assert!(
            sealer.open(&sealed, "wallets.secret:wal_2").is_err(),
            "moved to another row"
        );
        assert!(Sealer::new(MasterKey::generate())
            .open(&sealed, "wallets.secret:wal_1")
            .is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open(&tampered, "wallets.secret:wal_1").is_err());
        assert_ne!(
            sealer.seal(b"x", "a"),
            sealer.seal(b"x", "a"),
            "a fresh nonce each time"
        );
        assert_eq!(MasterKey::from_hex(&key.to_hex()).unwrap().id(), key.id());
        assert!(!format!("{key:?}").contains(key.to_hex().as_str()));
        assert!(MasterKey::from_hex("00").is_err());
    }
}
