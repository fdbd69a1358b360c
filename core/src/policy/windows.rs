//! Window arithmetic for spending limits: calendar days and months at a UTC offset, rolling
//! buckets that never under-count, and sliding velocity windows.

use rust_decimal::Decimal;

use super::SpendBucket;

pub(super) const DAY: u64 = 86_400;
pub(super) const HOUR: u64 = 3_600;
/// The length of the rolling "month": 30 days.
pub const ROLLING_MONTH_SECONDS: u64 = 30 * DAY;

/// Whether time `t` falls inside the `window` seconds ending at `now` (`now - window < t ≤ now`).
/// A time after `now` (a clock that went back) is counted, conservatively.
pub(super) fn within(t: u64, now: u64, window: u64) -> bool {
    t.saturating_add(window) > now
}

/// Days since the epoch and months since 1970-01 at a fixed UTC offset.
pub(super) fn calendar_position(now: u64, utc_offset_minutes: i32) -> (i64, i64) {
    let local = i128::from(now) + i128::from(utc_offset_minutes) * 60;
    let day = local.div_euclid(i128::from(DAY)) as i64;
    let (year, month) = civil_year_month(day);
    (day, (year - 1970) * 12 + (month - 1))
}

/// The proleptic Gregorian year and month (1–12) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub(super) fn civil_year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// The sum of buckets of length `len` overlapping the `window` ending at `now`.
pub(super) fn bucket_sum(buckets: &[SpendBucket], len: u64, now: u64, window: u64) -> Decimal {
    let window_start = now.saturating_sub(window);
    buckets
        .iter()
        .filter(|b| b.start.saturating_add(len) > window_start)
        .fold(Decimal::ZERO, |sum, b| sum.saturating_add(b.amount))
}

pub(super) fn add_to_bucket(
    buckets: &mut Vec<SpendBucket>,
    len: u64,
    now: u64,
    amount: Decimal,
    window: u64,
) {
    let start = now - now % len;
    let window_start = now.saturating_sub(window);
    buckets.retain(|b| b.start.saturating_add(len) > window_start);
    match buckets.iter_mut().find(|b| b.start == start) {
        Some(bucket) => bucket.amount = bucket.amount.saturating_add(amount),
        None => {
            let at = buckets.partition_point(|b| b.start < start);
            buckets.insert(at, SpendBucket { start, amount });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_month_follows_the_civil_calendar() {
        assert_eq!(civil_year_month(0), (1970, 1));
        assert_eq!(civil_year_month(31), (1970, 2));
        assert_eq!(civil_year_month(-1), (1969, 12));
        assert_eq!(civil_year_month(20_513), (2026, 3)); // 2026-03-01
        assert_eq!(civil_year_month(20_512), (2026, 2)); // 2026-02-28
        assert_eq!(civil_year_month(11_016), (2000, 2)); // 2000-02-29, a leap day
    }
}
