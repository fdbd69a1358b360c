//! Money into and out of the ledger: deposits and payouts. Their rules are pure functions
//! (tested below); each operation reads what its rule needs, and writes one [`Entry`] through
//! [`store::ledger::apply`] with its row and its event, in one transaction. Their errors are
//! [`MoneyError`], mapped to the API's once ([`From<MoneyError> for ApiError`]).
//!
//! A payout moves through the payouts clearing wallet: created (`pending`), the amount leaves
//! the provider's wallet for [`PAYOUTS_WALLET`]; marked `paid`, it leaves the ledger
//! (balanced against [`DEPOSITS_WALLET`], the outside world, as deposits enter it); marked
//! `failed`, it returns to the provider.

use paywire_core::money::{Amount, Asset};
use paywire_core::Reason;

use crate::base::entry::{Entry, EntryError};
use crate::base::error::ApiError;
use crate::base::ledger::{DEPOSITS_WALLET, PAYOUTS_WALLET};
use crate::base::util::{new_ordered_id, now_i64};
use crate::services::state::AppState;
use crate::store;
use crate::store::ledger::Applied;
use crate::store::payouts::PayoutRow;
use crate::store::StoreError;

/// Why money may not move as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A deposit of zero or less.
    #[error("a deposit must be positive")]
    DepositNotPositive,
    /// The platform's own wallets take no deposits.
    #[error("platform wallets are not funded by deposit")]
    PlatformWallet,
    /// A payout under the operator's minimum (formatted in the asset's units).
    #[error("a payout is at least {minimum}")]
    BelowMinimum {
        /// The minimum, e.g. `1.00 USD`.
        minimum: String,
    },
    /// A payout past the balance.
    #[error("the balance is {balance}, less than the payout")]
    InsufficientFunds {
        /// The balance, in the asset's units.
        balance: String,
    },
    /// A balance would pass what the ledger holds.
    #[error("the {what} would take a balance past what the ledger holds; nothing was written")]
    BalanceFull {
        /// `deposit` or `payout`.
        what: &'static str,
    },
    /// A payout that is paid or failed already.
    #[error("the payout is {status} already")]
    NotPending {
        /// Its status.
        status: String,
    },
}

/// What a deposit or a payout can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    /// A rule refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No such wallet or payout.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database failed to begin or commit.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// An entry that cannot be made (a fault here: the rules let only positive amounts by).
    #[error(transparent)]
    Entry(#[from] EntryError),
}

/// The one mapping of money errors to the API's codes and statuses.
impl From<MoneyError> for ApiError {
    fn from(error: MoneyError) -> Self {
        match error {
            MoneyError::Refused(refusal) => {
                let message = refusal.to_string();
                match refusal {
                    Refusal::DepositNotPositive | Refusal::PlatformWallet => {
                        ApiError::BadRequest(message)
                    }
                    Refusal::BelowMinimum { .. } => ApiError::Invalid {
                        code: "payout_below_minimum",
                        message,
                    },
                    Refusal::InsufficientFunds { .. } => ApiError::Conflict {
                        code: "insufficient_funds",
                        message,
                    },
                    Refusal::BalanceFull { .. } => ApiError::Core(
                        paywire_core::Error::payment_invalid(Reason::BalanceOverflow, message),
                    ),
                    Refusal::NotPending { .. } => ApiError::Conflict {
                        code: "payout_not_pending",
                        message,
                    },
                }
            }
            MoneyError::NotFound(what) => ApiError::NotFound(what),
            MoneyError::Store(e) => e.into(),
            MoneyError::Database(e) => ApiError::Database(e),
            MoneyError::Entry(e) => ApiError::Internal(e.to_string()),
        }
    }
}

/// The deposit rule: a positive amount, into a wallet that is not the platform's.
pub fn check_deposit(wallet_kind: &str, amount: i64) -> Result<(), Refusal> {
    if wallet_kind == "platform" {
        return Err(Refusal::PlatformWallet);
    }
    if amount <= 0 {
        return Err(Refusal::DepositNotPositive);
    }
    Ok(())
}

/// The payout rule: what is paid out of `balance` — the amount asked for, or the whole
/// balance — at least `minimum` and at most the balance.
pub fn payout_amount(
    asset: &Asset,
    requested: Option<i64>,
    balance: i64,
    minimum: Amount,
) -> Result<i64, Refusal> {
    let amount = requested.unwrap_or(balance);
    if amount <= 0 || (amount as u128) < minimum.atomic() {
        return Err(Refusal::BelowMinimum {
            minimum: format!("{} {}", asset.format(minimum), asset.symbol),
        });
    }
    if amount > balance {
        return Err(Refusal::InsufficientFunds {
            balance: asset.format(Amount::new(balance.max(0) as u128)),
        });
    }
    Ok(amount)
}

/// How a pending payout ends: its new status, its journal lines' kind, its event, and where
/// the amount goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutEnd {
    /// `paid` or `failed`.
    pub status: &'static str,
    /// `payout_paid` or `payout_reversal`.
    pub kind: &'static str,
    /// `payout.paid` or `payout.failed`.
    pub event: &'static str,
    /// Whether the amount returns to the provider (else it leaves the ledger).
    pub returns: bool,
}

/// The payout end rule: only a pending payout ends; a failure returns the amount.
pub fn payout_end(status: &str, failed: bool) -> Result<PayoutEnd, Refusal> {
    if status != "pending" {
        return Err(Refusal::NotPending {
            status: status.to_string(),
        });
    }
    Ok(match failed {
        false => PayoutEnd {
            status: "paid",
            kind: "payout_paid",
            event: "payout.paid",
            returns: false,
        },
        true => PayoutEnd {
            status: "failed",
            kind: "payout_reversal",
            event: "payout.failed",
            returns: true,
        },
    })
}

/// Deposits `amount` of `asset` (a balance key) into a wallet as entry `id`, with its
/// `wallet.funded` event. `id` derives from the idempotency key when there is one, so a retry
/// of a request that died after committing finds the deposit instead of making a second one.
/// Returns the new balance, atomic units.
pub async fn deposit(
    state: &AppState,
    id: &str,
    wallet_id: &str,
    asset: &str,
    amount: i64,
) -> Result<i64, MoneyError> {
    let (_, kind) = store::wallets::owner(&state.pool, wallet_id)
        .await?
        .ok_or(MoneyError::NotFound("wallet"))?;
    check_deposit(&kind, amount)?;
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let now = now_i64();
    if store::ledger::insert_deposit(&mut tx, id, wallet_id, asset, amount, now).await? {
        let entry = Entry::transfer(id, "deposit", asset, DEPOSITS_WALLET, wallet_id, amount)?;
        if store::ledger::apply(&mut tx, &[entry], now).await? != Applied::Done {
            return Err(Refusal::BalanceFull { what: "deposit" }.into());
        }
        let balance = store::ledger::balance(&mut tx, wallet_id, asset).await?;
        let data = serde_json::json!({"walletId": wallet_id, "depositId": id, "asset": asset,
            "amount": amount.to_string(), "balance": balance.to_string()});
        store::events::enqueue_for_wallet(
            &mut tx,
            &new_ordered_id("evt"),
            wallet_id,
            "wallet.funded",
            &data.to_string(),
            now,
        )
        .await?;
    }
    let balance = store::ledger::balance(&mut tx, wallet_id, asset).await?;
    tx.commit().await?;
    Ok(balance)
}

/// What a payout is asked for.
pub struct NewPayout<'a> {
    /// Its id (derived from the idempotency key when there is one).
    pub id: &'a str,
    /// The provider paid.
    pub provider_id: &'a str,
    /// The provider's wallet.
    pub wallet_id: &'a str,
    /// The balance key of the asset.
    pub asset_key: &'a str,
    /// The asset, for amounts in messages.
    pub asset: &'a Asset,
    /// Atomic units; the whole balance when absent.
    pub requested: Option<i64>,
    /// The operator's minimum.
    pub minimum: Amount,
}

/// Creates a pending payout: the amount moves from the provider's wallet to the payouts
/// clearing wallet, with the row and its `payout.created` event (`event_data` writes the
/// event's JSON from the row). A retry under the same id finds the payout the first attempt
/// made.
pub async fn create_payout(
    state: &AppState,
    payout: &NewPayout<'_>,
    event_data: impl Fn(&PayoutRow) -> String,
) -> Result<PayoutRow, MoneyError> {
    let now = now_i64();
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    if let Some(existing) = store::payouts::get(&mut tx, payout.id).await? {
        return Ok(existing);
    }
    let balance = store::ledger::balance(&mut tx, payout.wallet_id, payout.asset_key).await?;
    let amount = payout_amount(payout.asset, payout.requested, balance, payout.minimum)?;
    let entry = Entry::transfer(
        payout.id,
        "payout",
        payout.asset_key,
        payout.wallet_id,
        PAYOUTS_WALLET,
        amount,
    )?;
    match store::ledger::apply(&mut tx, &[entry], now).await? {
        Applied::Done => {}
        Applied::Short => {
            return Err(Refusal::InsufficientFunds {
                balance: payout.asset.format(Amount::new(balance.max(0) as u128)),
            }
            .into())
        }
        Applied::Full => return Err(Refusal::BalanceFull { what: "payout" }.into()),
    }
    let row = PayoutRow {
        id: payout.id.to_string(),
        provider_id: payout.provider_id.to_string(),
        wallet_id: payout.wallet_id.to_string(),
        asset: payout.asset_key.to_string(),
        amount,
        status: "pending".into(),
        failure_reason: None,
        created_at: now,
        updated_at: now,
    };
    store::payouts::insert(&mut tx, &row).await?;
    store::events::enqueue(
        &mut tx,
        &new_ordered_id("evt"),
        payout.provider_id,
        "payout.created",
        &event_data(&row),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Ends a pending payout: `paid` (no `failure`: the amount leaves the ledger) or `failed`
/// (it returns to the provider), with its entry and event.
pub async fn finish_payout(
    state: &AppState,
    id: &str,
    failure: Option<&str>,
    event_data: impl Fn(&PayoutRow) -> String,
) -> Result<PayoutRow, MoneyError> {
    let now = now_i64();
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let row = store::payouts::get(&mut tx, id)
        .await?
        .ok_or(MoneyError::NotFound("payout"))?;
    let end = payout_end(&row.status, failure.is_some())?;
    // The conditional update is the guard against a concurrent end of the same payout.
    if !store::payouts::settle(&mut tx, id, end.status, failure, now).await? {
        let now_status = store::payouts::get(&mut tx, id)
            .await?
            .map_or(row.status.clone(), |r| r.status);
        return Err(Refusal::NotPending { status: now_status }.into());
    }
    let destination = if end.returns {
        row.wallet_id.as_str()
    } else {
        DEPOSITS_WALLET
    };
    let entry = Entry::transfer(
        format!("{id}_{}", end.status),
        end.kind,
        &row.asset,
        PAYOUTS_WALLET,
        destination,
        row.amount,
    )?;
    if store::ledger::apply(&mut tx, &[entry], now).await? != Applied::Done {
        return Err(StoreError::Inconsistent(format!(
            "payout {id}: the payouts wallet does not hold it, or the provider's balance is full"
        ))
        .into());
    }
    let row = PayoutRow {
        status: end.status.into(),
        failure_reason: failure.map(str::to_string),
        updated_at: now,
        ..row
    };
    store::events::enqueue(
        &mut tx,
        &new_ordered_id("evt"),
        &row.provider_id,
        end.event,
        &event_data(&row),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Asset {
        crate::base::ledger::ledger_asset("paywire:main")
    }

    #[test]
    fn deposits_are_positive_and_never_into_platform_wallets() {
        assert_eq!(check_deposit("agent", 1), Ok(()));
        assert_eq!(check_deposit("evm", 0), Err(Refusal::DepositNotPositive));
        assert_eq!(check_deposit("agent", -5), Err(Refusal::DepositNotPositive));
        assert_eq!(check_deposit("platform", 10), Err(Refusal::PlatformWallet));
    }

    #[test]
    fn a_payout_is_between_the_minimum_and_the_balance() {
        let minimum = Amount::new(1_000_000);
        // The whole balance when no amount is asked for.
        assert_eq!(
            payout_amount(&usd(), None, 2_500_000, minimum),
            Ok(2_500_000)
        );
        assert_eq!(
            payout_amount(&usd(), Some(1_000_000), 2_500_000, minimum),
            Ok(1_000_000)
        );
        assert_eq!(
            payout_amount(&usd(), Some(999_999), 2_500_000, minimum),
            Err(Refusal::BelowMinimum {
                minimum: "1 USD".into()
            })
        );
        // An empty balance is below the minimum, not a payout of zero.
        assert!(matches!(
            payout_amount(&usd(), None, 0, minimum),
            Err(Refusal::BelowMinimum { .. })
        ));
        assert_eq!(
            payout_amount(&usd(), Some(3_000_000), 2_500_000, minimum),
            Err(Refusal::InsufficientFunds {
                balance: "2.5".into()
            })
        );
        assert!(payout_amount(&usd(), Some(-1), 2_500_000, Amount::new(0)).is_err());
    }

    #[test]
    fn only_a_pending_payout_ends_and_a_failure_returns_the_amount() {
        let paid = payout_end("pending", false).unwrap();
        assert_eq!((paid.status, paid.returns), ("paid", false));
        let failed = payout_end("pending", true).unwrap();
        assert_eq!(
            (failed.status, failed.event, failed.returns),
            ("failed", "payout.failed", true)
        );
        assert_eq!(
            payout_end("paid", true),
            Err(Refusal::NotPending {
                status: "paid".into()
            })
        );
    }
}
