//! How money moves in the ledger: one [`Entry`] per movement — a payment, a deposit, a payout
//! and each step of it — whose legs sum to zero by construction. [`crate::store::ledger::apply`]
//! is the one call that writes entries (balances and journal lines, guarded in SQL), so no
//! caller composes a debit, a credit and journal lines by hand.

use crate::base::ledger::DEPOSITS_WALLET;

/// One line of an entry: a wallet's balance of an asset moves by `amount` (signed atomic units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// The wallet.
    pub wallet: String,
    /// The balance key of the asset.
    pub asset: String,
    /// Signed atomic units: negative leaves the wallet, positive enters it.
    pub amount: i64,
    /// What the line is: `payment`, `fee`, `deposit`, `payout`, `payout_paid`,
    /// `payout_reversal`.
    pub kind: &'static str,
}

impl Leg {
    /// Whether the leg changes a balance. [`DEPOSITS_WALLET`] stands for the world outside the
    /// ledger (money comes in by deposit, leaves by a paid payout): its legs are journal lines
    /// only, so that every entry balances without the outside having a balance to run short.
    pub fn moves_balance(&self) -> bool {
        self.wallet != DEPOSITS_WALLET
    }
}

/// Why an entry cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// An amount below zero (a leg's direction is the entry's to choose, not the caller's).
    #[error("an entry's amounts are at least zero")]
    Negative,
    /// Nothing would move.
    #[error("an entry moves something")]
    Empty,
    /// The amounts' sum does not fit the ledger's BIGINT.
    #[error("an entry's sum does not fit the ledger")]
    Overflow,
}

/// Money moving inside the ledger, in one asset: one wallet gives, one or more take. The giving
/// leg is the negative of the takers' checked sum — the legs sum to zero however an entry is
/// made — and a taker of zero gets no line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    id: String,
    legs: Vec<Leg>,
}

impl Entry {
    /// `amount` from `from` to `to`, both lines of kind `kind`.
    pub fn transfer(
        id: impl Into<String>,
        kind: &'static str,
        asset: &str,
        from: &str,
        to: &str,
        amount: i64,
    ) -> Result<Entry, EntryError> {
        Entry::split(id, asset, (from, kind), &[(to, amount, kind)])
    }

    /// From `from` (its line of kind `from.1`), each `(wallet, amount, kind)` of `to` its
    /// amount. The giver's line comes first, then the takers' in order.
    pub fn split(
        id: impl Into<String>,
        asset: &str,
        from: (&str, &'static str),
        to: &[(&str, i64, &'static str)],
    ) -> Result<Entry, EntryError> {
        let mut total: i64 = 0;
        for (_, amount, _) in to {
            if *amount < 0 {
                return Err(EntryError::Negative);
            }
            total = total.checked_add(*amount).ok_or(EntryError::Overflow)?;
        }
        if total == 0 {
            return Err(EntryError::Empty);
        }
        let leg = |wallet: &str, amount: i64, kind: &'static str| Leg {
            wallet: wallet.to_string(),
            asset: asset.to_string(),
            amount,
            kind,
        };
        let mut legs = Vec::with_capacity(to.len() + 1);
        legs.push(leg(from.0, -total, from.1));
        legs.extend(
            to.iter()
                .filter(|(_, amount, _)| *amount > 0)
                .map(|(wallet, amount, kind)| leg(wallet, *amount, kind)),
        );
        Ok(Entry {
            id: id.into(),
            legs,
        })
    }

    /// The entry's id (a payment's, a deposit's, a payout step's): its journal lines are named
    /// after it, so an entry is written once or not at all.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its lines, the giver's first.
    pub fn legs(&self) -> &[Leg] {
        &self.legs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_sum_to_zero_and_zero_takers_get_no_line() {
        let entry = Entry::split(
            "pay_1",
            "USD",
            ("wal_agent", "payment"),
            &[
                ("wal_provider", 9_900, "payment"),
                ("wal_platform", 100, "fee"),
            ],
        )
        .unwrap();
        let amounts: Vec<i64> = entry.legs().iter().map(|l| l.amount).collect();
        assert_eq!(amounts, [-10_000, 9_900, 100]);
        assert_eq!(entry.legs()[2].kind, "fee");
        let no_fee = Entry::split(
            "pay_2",
            "USD",
            ("wal_agent", "payment"),
            &[("wal_provider", 5, "payment"), ("wal_platform", 0, "fee")],
        )
        .unwrap();
        assert_eq!(no_fee.legs().len(), 2);
        assert_eq!(no_fee.legs().iter().map(|l| l.amount).sum::<i64>(), 0);
    }

    #[test]
    fn what_cannot_balance_is_refused() {
        let transfer = |amount| Entry::transfer("e", "deposit", "USD", "a", "b", amount);
        assert_eq!(transfer(-1), Err(EntryError::Negative));
        assert_eq!(transfer(0), Err(EntryError::Empty));
        let overflow = Entry::split(
            "e",
            "USD",
            ("a", "payment"),
            &[("b", i64::MAX, "payment"), ("c", 1, "fee")],
        );
        assert_eq!(overflow, Err(EntryError::Overflow));
        let max = transfer(i64::MAX).unwrap();
        assert_eq!(max.legs()[0].amount, -i64::MAX);
    }

    #[test]
    fn only_the_outside_world_keeps_no_balance() {
        let deposit = Entry::transfer("dep_1", "deposit", "USD", DEPOSITS_WALLET, "w", 5).unwrap();
        assert!(!deposit.legs()[0].moves_balance());
        assert!(deposit.legs()[1].moves_balance());
    }
}
