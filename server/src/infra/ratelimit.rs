//! Rate limits: a token bucket (GCRA, `governor`) per API key on the `/v1` API and per payer on
//! `/settle`. A key is counted only once it authenticated, and a payer only once its payment
//! verified — so nobody can spend another's budget with forged requests, and the buckets are
//! bounded by real keys and payers (idle ones are swept). Off unless configured.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::base::error::ApiError;

/// A bucket's rate and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests refilled per second.
    pub per_second: u32,
    /// The most requests at once.
    pub burst: u32,
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// One keyed limit, or none.
#[derive(Clone, Default)]
pub struct Limit {
    name: &'static str,
    rate: Option<Rate>,
    limiter: Option<Arc<Keyed>>,
}

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("name", &self.name)
            .field("rate", &self.rate)
            .finish()
    }
}

impl Limit {
    /// A limit named `name` (`api_key`, `payer`) at `rate`; `None` lets everything through.
    pub fn new(name: &'static str, rate: Option<Rate>) -> Self {
        let limiter = rate.and_then(|rate| {
            let per_second = NonZeroU32::new(rate.per_second)?;
            let burst = NonZeroU32::new(rate.burst.max(1))?;
            Some(Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            )))
        });
        Limit {
            name,
            rate,
            limiter,
        }
    }

    /// Counts one request of `key`: refused with `rate_limited` (429, `Retry-After`) when its
    /// bucket is empty.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let (Some(limiter), Some(rate)) = (&self.limiter, self.rate) else {
            return Ok(());
        };
        match limiter.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                crate::infra::metrics::rate_limited(self.name);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::RateLimited {
                    limit: self.name,
                    retry_after: wait.max(Duration::from_millis(1)),
                    rate: rate.per_second,
                    burst: rate.burst,
                })
            }
        }
    }

    /// Forgets buckets that are full again (idle keys).
    pub fn sweep(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The server's limits.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    /// Per API key, on every authenticated request.
    pub per_key: Limit,
    /// Per payer, on every verified `/settle`.
    pub per_payer: Limit,
    /// Per client address, on chain payments only the chain can vouch for (counted before the
    /// RPC calls that would vouch: a forged contract-wallet signature costs calls).
    pub chain_vouch_client: Limit,
    /// Per claimed payer, on the same.
    pub chain_vouch_payer: Limit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_and_keeps_keys_apart() {
        let limit = Limit::new(
            "api_key",
            Some(Rate {
                per_second: 1,
                burst: 2,
            }),
        );
        assert!(limit.check("a").is_ok());
        assert!(limit.check("a").is_ok());
        let refused = limit.check("a").unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(refused.status().as_u16(), 429);
        assert!(limit.check("b").is_ok(), "another key has its own bucket");
        let unlimited = Limit::new("api_key", None);
        assert!((0..10_000).all(|_| unlimited.check("a").is_ok()));
    }
}
