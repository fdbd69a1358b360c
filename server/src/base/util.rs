//! Time, ids and hashing: the I/O the core leaves to its host.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `now()` as the BIGINT the database stores.
pub fn now_i64() -> i64 {
    i64::try_from(now()).unwrap_or(i64::MAX)
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

/// A new id such as `key_3f9a…` (16 random bytes).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(random_bytes::<16>()))
}

/// A new id for rows written at a high rate (payments, events): 6 bytes of Unix milliseconds,
/// then 10 random bytes, so ids made together sort together. Their primary-key inserts land
/// on the same few index pages instead of one random page each — on SQLite, fewer pages to
/// write to the WAL per commit. 80 random bits keep ids made in the same millisecond apart;
/// the time they reveal is the row's `created_at` anyway.
pub fn new_ordered_id(prefix: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random_bytes::<10>());
    format!("{prefix}_{}", hex::encode(bytes))
}

/// SHA-256 as lowercase hex, for keys stored at rest.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
