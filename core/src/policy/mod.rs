//! Spending policies: what an agent may pay, to whom, how much and how often.
//!
//! A [`Policy`] is configuration; [`Usage`] is the state the caller keeps (in memory, in a
//! file, in the settlement server's database) and passes in. Nothing here reads a clock:
//! `now` is unix seconds, given by the caller. The same policy runs twice in Paywire's design —
//! in the client, to avoid paying, and in the settlement server, atomically with the balance —
//! and decides the same way in both.
//!
//! # Amounts
//!
//! Limits are `Decimal` whole units (`"5.00"`), shared across the allowed assets — a policy is
//! meant for one unit of account, typically USD stablecoins. Payments are converted from
//! atomic units with the asset's decimals ([`AssetRegistry`]); an asset whose decimals are not
//! known cannot be paid ([`DenyReason::AssetUnknown`]).
//!
//! # Windows
//!
//! - [`WindowMode::Calendar`] (the default): daily and monthly limits reset at midnight and on
//!   the 1st, at a fixed UTC offset (default UTC).
//! - [`WindowMode::Rolling`]: the last 24 hours and the last 30 days. Spending is kept in hourly
//!   and daily buckets, and a bucket that overlaps the window counts in full: the sum can
//!   over-count by up to one bucket but never under-counts, so a rolling limit is never passed.
//!
//! # Evaluation order
//!
//! amount sanity → network → asset → payee → resource host → max per request → velocity →
//! daily limit → monthly limit → approval threshold. The first failing check is the reason.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod select;
mod windows;

use crate::error::DenyReason;
pub use select::{Rejection, Selection};

pub use windows::ROLLING_MONTH_SECONDS;
use windows::{add_to_bucket, bucket_sum, calendar_position, within, DAY, HOUR};

/// At most `max_payments` payments in any `window_seconds`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VelocityLimit {
    /// Payments allowed per window (at least 1).
    pub max_payments: u32,
    /// The window's length in seconds (at least 1).
    pub window_seconds: u64,
}

/// How daily and monthly limits are windowed.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum WindowMode {
    /// Calendar days and months at a fixed offset from UTC.
    #[serde(rename_all = "camelCase")]
    Calendar {
        /// Minutes east of UTC (−720 to +840), e.g. `-300` for New York in winter.
        #[serde(default)]
        utc_offset_minutes: i32,
    },
    /// The last 24 hours and the last 30 days.
    Rolling,
}

impl Default for WindowMode {
    fn default() -> Self {
        WindowMode::Calendar {
            utc_offset_minutes: 0,
        }
    }
}

/// A spending policy. Every limit is optional; an absent allow-list allows everything.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// The most one payment may cost, in whole units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::DecimalText>")
    )]
    pub max_per_request: Option<Decimal>,
    /// The most that may be spent per day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::DecimalText>")
    )]
    pub daily_limit: Option<Decimal>,
    /// The most that may be spent per month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::DecimalText>")
    )]
    pub monthly_limit: Option<Decimal>,
    /// Recipients that may be paid (compared case-insensitively, as EVM addresses are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_payees: Option<Vec<String>>,
    /// Networks that may be used, in either form (`base` or `eip155:8453`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_networks: Option<Vec<String>>,
    /// Assets (addresses or ledger codes) that may be used, case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_assets: Option<Vec<String>>,
    /// Resource hosts that may be paid: `api.example.com`, or `*.example.com` for subdomains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    /// How many payments may be made how fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<VelocityLimit>,
    /// Payments above this need approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::DecimalText>")
    )]
    pub approval_threshold: Option<Decimal>,
    /// Calendar or rolling windows.
    #[serde(default)]
    pub windows: WindowMode,
}

/// One payment to judge.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentIntent {
    /// What it costs, in whole units.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
    pub amount: Decimal,
    /// The network, in either form.
    pub network: String,
    /// The asset's address or ledger code.
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// The URL of the resource being paid for, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// What a policy says about one payment.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "camelCase")]
pub enum Decision {
    /// Pay.
    Allow,
    /// Pay only if an approver agrees.
    NeedsApproval,
    /// Do not pay, and why.
    Deny(DenyReason),
}

/// One bucket of rolling-window spending.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendBucket {
    /// Unix seconds at which the bucket starts (a multiple of its length).
    pub start: u64,
    /// What was spent in it.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
    pub amount: Decimal,
}

/// The spending so far, held by the caller between payments and passed in.
///
/// Start with `Usage::default()`; [`Policy::record`] keeps it up to date and pruned.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// The calendar day `spentToday` belongs to (days since 1970-01-01 at the offset).
    #[serde(default)]
    pub day: i64,
    /// Spent on that day.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
    pub spent_today: Decimal,
    /// The calendar month `spentThisMonth` belongs to (months since 1970-01 at the offset).
    #[serde(default)]
    pub month: i64,
    /// Spent in that month.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
    pub spent_this_month: Decimal,
    /// When recent payments were made, oldest first (for the velocity limit).
    #[serde(default)]
    pub recent_payments: Vec<u64>,
    /// Hourly buckets of the last day (rolling windows only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hourly: Vec<SpendBucket>,
    /// Daily buckets of the last 30 days (rolling windows only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<SpendBucket>,
}

impl Policy {
    /// Reads and validates a policy from JSON; any shape error (a float limit, an unknown
    /// field) is `policy_invalid`, like a limit out of range.
    pub fn from_json(json: serde_json::Value) -> Result<Self> {
        let policy: Policy =
            serde_json::from_value(json).map_err(|e| Error::PolicyInvalid(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the configuration: non-negative limits, a usable velocity limit, an offset
    /// within −12 h … +14 h.
    pub fn validate(&self) -> Result<()> {
        let limits = [
            ("maxPerRequest", self.max_per_request),
            ("dailyLimit", self.daily_limit),
            ("monthlyLimit", self.monthly_limit),
            ("approvalThreshold", self.approval_threshold),
        ];
        for (name, limit) in limits {
            if limit.is_some_and(|l| l.is_sign_negative() && !l.is_zero()) {
                return Err(Error::PolicyInvalid(format!("{name} must not be negative")));
            }
        }
        if let Some(velocity) = self.velocity {
            if velocity.max_payments == 0 || velocity.window_seconds == 0 {
                return Err(Error::PolicyInvalid(
                    "velocity needs maxPayments >= 1 and windowSeconds >= 1".into(),
                ));
            }
        }
        if let WindowMode::Calendar { utc_offset_minutes } = self.windows {
            if !(-720..=840).contains(&utc_offset_minutes) {
                return Err(Error::PolicyInvalid(
                    "utcOffsetMinutes must be between -720 and 840".into(),
                ));
            }
        }
        Ok(())
    }

    /// Judges one payment at `now` against the spending in `usage`. Never allocates.
    pub fn evaluate(&self, intent: &PaymentIntent, usage: &Usage, now: u64) -> Decision {
        match self.check(intent, usage, now) {
            Ok(()) => match self.approval_threshold {
                Some(threshold) if intent.amount > threshold => Decision::NeedsApproval,
                _ => Decision::Allow,
            },
            Err(reason) => Decision::Deny(reason),
        }
    }

    fn check(&self, intent: &PaymentIntent, usage: &Usage, now: u64) -> Result<(), DenyReason> {
        let amount = intent.amount;
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(DenyReason::AmountInvalid);
        }
        if let Some(networks) = &self.allowed_networks {
            if !networks
                .iter()
                .any(|n| crate::network::same_network(n, &intent.network))
            {
                return Err(DenyReason::NetworkNotAllowed);
            }
        }
        if !allowed(&self.allowed_assets, &intent.asset) {
            return Err(DenyReason::AssetNotAllowed);
        }
        if !allowed(&self.allowed_payees, &intent.pay_to) {
            return Err(DenyReason::PayeeNotAllowed);
        }
        if let Some(hosts) = &self.allowed_hosts {
            let host = intent.resource.as_deref().and_then(host_of);
            if !host.is_some_and(|host| hosts.iter().any(|pattern| host_matches(pattern, host))) {
                return Err(DenyReason::HostNotAllowed);
            }
        }
        if self.max_per_request.is_some_and(|max| amount > max) {
            return Err(DenyReason::MaxPerRequestExceeded);
        }
        if let Some(velocity) = self.velocity {
            let recent = usage
                .recent_payments
                .iter()
                .filter(|&&t| within(t, now, velocity.window_seconds))
                .count();
            if recent >= velocity.max_payments as usize {
                return Err(DenyReason::VelocityExceeded);
            }
        }
        let (spent_day, spent_month) = self.spent(usage, now);
        let passes = |spent: Decimal, limit: Option<Decimal>| match limit {
            None => true,
            Some(limit) => spent
                .checked_add(amount)
                .is_some_and(|total| total <= limit),
        };
        if !passes(spent_day, self.daily_limit) {
            return Err(DenyReason::DailyLimitExceeded);
        }
        if !passes(spent_month, self.monthly_limit) {
            return Err(DenyReason::MonthlyLimitExceeded);
        }
        Ok(())
    }

    /// What counts as spent today and this month at `now`.
    fn spent(&self, usage: &Usage, now: u64) -> (Decimal, Decimal) {
        match self.windows {
            WindowMode::Calendar { utc_offset_minutes } => {
                let (day, month) = calendar_position(now, utc_offset_minutes);
                // A usage from a *later* day (the clock went back) still counts: resetting it
                // would let a skewed clock double the limit.
                let today = if usage.day >= day {
                    usage.spent_today
                } else {
                    Decimal::ZERO
                };
                let this_month = if usage.month >= month {
                    usage.spent_this_month
                } else {
                    Decimal::ZERO
                };
                (today, this_month)
            }
            WindowMode::Rolling => (
                bucket_sum(&usage.hourly, HOUR, now, DAY),
                bucket_sum(&usage.daily, DAY, now, ROLLING_MONTH_SECONDS),
            ),
        }
    }

    /// Folds a payment of `amount` made at `now` into `usage`, pruning what no window needs.
    pub fn record(&self, usage: &mut Usage, amount: Decimal, now: u64) {
        match self.windows {
            WindowMode::Calendar { utc_offset_minutes } => {
                let (day, month) = calendar_position(now, utc_offset_minutes);
                if day > usage.day {
                    usage.day = day;
                    usage.spent_today = Decimal::ZERO;
                }
                if month > usage.month {
                    usage.month = month;
                    usage.spent_this_month = Decimal::ZERO;
                }
                usage.spent_today = usage.spent_today.saturating_add(amount);
                usage.spent_this_month = usage.spent_this_month.saturating_add(amount);
            }
            WindowMode::Rolling => {
                add_to_bucket(&mut usage.hourly, HOUR, now, amount, DAY);
                add_to_bucket(&mut usage.daily, DAY, now, amount, ROLLING_MONTH_SECONDS);
            }
        }
        match self.velocity {
            Some(velocity) => {
                usage
                    .recent_payments
                    .retain(|&t| within(t, now, velocity.window_seconds));
                let at = usage.recent_payments.partition_point(|&t| t <= now);
                usage.recent_payments.insert(at, now);
            }
            None => usage.recent_payments.clear(),
        }
    }
}

fn allowed(list: &Option<Vec<String>>, value: &str) -> bool {
    match list {
        None => true,
        Some(list) => list.iter().any(|entry| entry.eq_ignore_ascii_case(value)),
    }
}

/// The host of an absolute URL, lowercase comparison left to the caller: `https://A.b:8080/x`
/// → `A.b`; `[::1]` keeps its brackets. `None` when the text has no `scheme://host`.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        &host_port[..=host_port.find(']')?]
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// `api.example.com` matches itself (any case); `*.example.com` matches any subdomain of
/// `example.com` but not `example.com` itself.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn intent(amount: &str) -> PaymentIntent {
        PaymentIntent {
            amount: d(amount),
            network: "eip155:84532".into(),
            asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
            pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
            resource: Some("https://api.example.com/weather".into()),
        }
    }

    const NOV_21_2026_NOON: u64 = 1_795_262_400;

    #[test]
    fn an_empty_policy_allows_everything() {
        assert_eq!(
            Policy::default().evaluate(&intent("1000000"), &Usage::default(), 0),
            Decision::Allow
        );
    }

    #[test]
    fn each_limit_denies_with_its_own_code() {
        let usage = Usage::default();
        let now = NOV_21_2026_NOON;
        let cases: Vec<(Policy, &str, DenyReason)> = vec![
            (
                Policy {
                    max_per_request: Some(d("0.5")),
                    ..Default::default()
                },
                "0.51",
                DenyReason::MaxPerRequestExceeded,
            ),
            (
                Policy {
                    daily_limit: Some(d("1")),
                    ..Default::default()
                },
                "1.000001",
                DenyReason::DailyLimitExceeded,
            ),
            (
                Policy {
                    monthly_limit: Some(d("1")),
                    ..Default::default()
                },
                "2",
                DenyReason::MonthlyLimitExceeded,
            ),
            (
                Policy {
                    allowed_networks: Some(vec!["base".into()]),
                    ..Default::default()
                },
                "1",
                DenyReason::NetworkNotAllowed,
            ),
            (
                Policy {
                    allowed_assets: Some(vec!["USD".into()]),
                    ..Default::default()
                },
                "1",
                DenyReason::AssetNotAllowed,
            ),
            (
                Policy {
                    allowed_payees: Some(vec!["0xdead".into()]),
                    ..Default::default()
                },
                "1",
                DenyReason::PayeeNotAllowed,
            ),
            (
                Policy {
                    allowed_hosts: Some(vec!["other.com".into()]),
                    ..Default::default()
                },
                "1",
                DenyReason::HostNotAllowed,
            ),
            (Policy::default(), "-1", DenyReason::AmountInvalid),
        ];
        for (policy, amount, reason) in cases {
            assert_eq!(
                policy.evaluate(&intent(amount), &usage, now),
                Decision::Deny(reason),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn a_limit_is_inclusive() {
        let policy = Policy {
            daily_limit: Some(d("1")),
            max_per_request: Some(d("1")),
            ..Default::default()
        };
        assert_eq!(
            policy.evaluate(&intent("1"), &Usage::default(), 0),
            Decision::Allow
        );
    }

    #[test]
    fn allow_lists_normalize_names_and_case() {
        let policy = Policy {
            allowed_networks: Some(vec!["base-sepolia".into()]),
            allowed_assets: Some(vec!["0x036cbd53842c5426634e7929541ec2318f3dcf7e".into()]),
            allowed_payees: Some(vec!["0x209693BC6AFC0C5328BA36FAF03C514EF312287C".into()]),
            allowed_hosts: Some(vec!["*.EXAMPLE.com".into()]),
            ..Default::default()
        };
        assert_eq!(
            policy.evaluate(&intent("1"), &Usage::default(), 0),
            Decision::Allow
        );
        let mut apex = intent("1");
        apex.resource = Some("https://example.com/x".into());
        assert_eq!(
            policy.evaluate(&apex, &Usage::default(), 0),
            Decision::Deny(DenyReason::HostNotAllowed)
        );
        let mut evil = intent("1");
        evil.resource = Some("https://api.example.com.evil.io/x".into());
        assert_eq!(
            policy.evaluate(&evil, &Usage::default(), 0),
            Decision::Deny(DenyReason::HostNotAllowed)
        );
        let mut userinfo = intent("1");
        userinfo.resource = Some("https://api.example.com@evil.io/x".into());
        assert_eq!(
            policy.evaluate(&userinfo, &Usage::default(), 0),
            Decision::Deny(DenyReason::HostNotAllowed)
        );
        let mut none = intent("1");
        none.resource = None;
        assert_eq!(
            policy.evaluate(&none, &Usage::default(), 0),
            Decision::Deny(DenyReason::HostNotAllowed)
        );
    }

    #[test]
    fn approval_threshold_asks_above_it() {
        let policy = Policy {
            approval_threshold: Some(d("0.10")),
            ..Default::default()
        };
        assert_eq!(
            policy.evaluate(&intent("0.10"), &Usage::default(), 0),
            Decision::Allow
        );
        assert_eq!(
            policy.evaluate(&intent("0.11"), &Usage::default(), 0),
            Decision::NeedsApproval
        );
    }

    #[test]
    fn calendar_day_resets_at_the_offset_midnight() {
        let policy = Policy {
            daily_limit: Some(d("1")),
            windows: WindowMode::Calendar {
                utc_offset_minutes: -300,
            },
            ..Default::default()
        };
        let mut usage = Usage::default();
        // 2026-11-21 04:00 UTC is 23:00 on the 20th in UTC-5.
        let late_evening = 1_795_233_600;
        policy.record(&mut usage, d("1"), late_evening);
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, late_evening + 3599),
            Decision::Deny(DenyReason::DailyLimitExceeded)
        );
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, late_evening + 3600),
            Decision::Allow
        );
    }

    #[test]
    fn a_clock_that_goes_back_does_not_reset_spending() {
        let policy = Policy {
            daily_limit: Some(d("1")),
            ..Default::default()
        };
        let mut usage = Usage::default();
        policy.record(&mut usage, d("1"), NOV_21_2026_NOON);
        assert_eq!(
            policy.evaluate(&intent("0.5"), &usage, NOV_21_2026_NOON - 2 * DAY),
            Decision::Deny(DenyReason::DailyLimitExceeded)
        );
    }

    #[test]
    fn velocity_counts_a_sliding_window() {
        let policy = Policy {
            velocity: Some(VelocityLimit {
                max_payments: 2,
                window_seconds: 60,
            }),
            ..Default::default()
        };
        let mut usage = Usage::default();
        policy.record(&mut usage, d("0.01"), 1000);
        policy.record(&mut usage, d("0.01"), 1030);
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, 1059),
            Decision::Deny(DenyReason::VelocityExceeded)
        );
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, 1060),
            Decision::Allow
        );
        policy.record(&mut usage, d("0.01"), 1100);
        assert_eq!(usage.recent_payments, vec![1100], "old times are pruned");
    }

    #[test]
    fn rolling_windows_never_undercount() {
        let policy = Policy {
            daily_limit: Some(d("1")),
            monthly_limit: Some(d("3")),
            windows: WindowMode::Rolling,
            ..Default::default()
        };
        let mut usage = Usage::default();
        policy.record(&mut usage, d("1"), 10 * DAY + 1800);
        // 23.5 h later the payment is still in the window.
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, 11 * DAY),
            Decision::Deny(DenyReason::DailyLimitExceeded)
        );
        // Two hours past a full day, its bucket has left the window.
        assert_eq!(
            policy.evaluate(&intent("0.01"), &usage, 11 * DAY + 2 * HOUR),
            Decision::Allow
        );
        policy.record(&mut usage, d("1"), 12 * DAY);
        policy.record(&mut usage, d("1"), 14 * DAY);
        assert_eq!(
            policy.evaluate(&intent("0.5"), &usage, 16 * DAY),
            Decision::Deny(DenyReason::MonthlyLimitExceeded)
        );
        assert_eq!(
            policy.evaluate(&intent("0.5"), &usage, 41 * DAY),
            Decision::Allow
        );
    }

    #[test]
    fn invalid_policies_are_reported() {
        let negative = Policy {
            daily_limit: Some(d("-1")),
            ..Default::default()
        };
        assert_eq!(
            negative.validate().unwrap_err().code(),
            code::error::PolicyInvalid
        );
        let zero_window = Policy {
            velocity: Some(VelocityLimit {
                max_payments: 1,
                window_seconds: 0,
            }),
            ..Default::default()
        };
        assert_eq!(
            zero_window.validate().unwrap_err().code(),
            code::error::PolicyInvalid
        );
        let offset = Policy {
            windows: WindowMode::Calendar {
                utc_offset_minutes: 900,
            },
            ..Default::default()
        };
        assert_eq!(
            offset.validate().unwrap_err().code(),
            code::error::PolicyInvalid
        );
    }

    #[test]
    fn policies_read_decimal_strings_not_floats() {
        let policy: Policy =
            serde_json::from_str(r#"{"dailyLimit":"5.00","windows":{"type":"rolling"}}"#).unwrap();
        assert_eq!(policy.daily_limit, Some(d("5")));
        assert!(serde_json::from_str::<Policy>(r#"{"dailyLimit":5.1}"#).is_err());
        assert!(
            serde_json::from_str::<Policy>(r#"{"dailyLimt":"5"}"#).is_err(),
            "typos are caught"
        );
    }

    #[test]
    fn hosts_are_extracted_from_urls() {
        assert_eq!(
            host_of("https://api.example.com/x?y#z"),
            Some("api.example.com")
        );
        assert_eq!(host_of("http://user:pw@h.io:8080"), Some("h.io"));
        assert_eq!(host_of("http://[::1]:4020/x"), Some("[::1]"));
        assert_eq!(host_of("/relative"), None);
        assert_eq!(host_of("https://"), None);
    }
}
