//! Settlement on an EVM chain: the decisions a settler makes around its JSON-RPC calls, with no
//! I/O — what an earlier attempt at the same authorization means for this request, which
//! reason code a revert is, and whether a payment is worth submitting after the chain's
//! answers.
//!
//! The settler (paywire-server) keeps one attempt per `(network, payer, nonce)` — the
//! authorization's once-only key on the token contract itself — and asks [`decide`] before it
//! submits anything: a payment is submitted at most once, and a replay is answered with the
//! first attempt's outcome only when it is the same request from the same (verified) payer.

use crate::error::Reason;
use crate::idempotency::Fingerprint;

/// Where an attempt to settle an authorization on chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptState {
    /// Recorded, not yet broadcast (or broadcast and the hash not yet stored).
    Submitting,
    /// Broadcast as `transaction`; no receipt yet.
    Submitted {
        /// The transaction hash.
        transaction: String,
    },
    /// Mined with success.
    Settled {
        /// The transaction hash.
        transaction: String,
    },
    /// Refused by the chain (a reverted transaction, or a pre-flight check that failed).
    Failed {
        /// The transaction hash, when one was mined.
        transaction: Option<String>,
        /// Why.
        reason: Reason,
    },
}

/// An earlier attempt at the same `(network, payer, nonce)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The payment id it settles as.
    pub payment_id: String,
    /// The fingerprint of the request that made it.
    pub fingerprint: Fingerprint,
    /// Where it stands.
    pub state: AttemptState,
}

/// What to do with a verified payment on a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainPlan {
    /// Check it on chain (balance, nonce, simulation) and submit it.
    Submit,
    /// The same request settled: answer success with this transaction.
    Settled {
        /// The transaction hash.
        transaction: String,
    },
    /// The same request is in flight: answer `settlement_pending` (with the transaction hash
    /// once there is one), never a failure — the payer must not pay again.
    Pending {
        /// The transaction hash, once broadcast.
        transaction: Option<String>,
    },
    /// Refuse with this reason (the same request failed before, or another request used the
    /// authorization's nonce).
    Refuse {
        /// The x402 reason code.
        reason: Reason,
        /// What exactly failed.
        message: String,
        /// The failed transaction, if one was mined.
        transaction: Option<String>,
    },
}

/// Decides what a verified request does, given the attempt already recorded for its
/// authorization (looked up by the *verified* payer, so one payer never learns another's
/// outcome).
pub fn decide(request: &Fingerprint, earlier: Option<&Attempt>) -> ChainPlan {
    let Some(earlier) = earlier else {
        return ChainPlan::Submit;
    };
    if earlier.fingerprint != *request {
        return ChainPlan::Refuse {
            reason: Reason::InvalidExactEvmNonceAlreadyUsed,
            message: "this authorization's nonce was used by another payment".into(),
            transaction: None,
        };
    }
    match &earlier.state {
        AttemptState::Submitting => ChainPlan::Pending { transaction: None },
        AttemptState::Submitted { transaction } => ChainPlan::Pending {
            transaction: Some(transaction.clone()),
        },
        AttemptState::Settled { transaction } => ChainPlan::Settled {
            transaction: transaction.clone(),
        },
        AttemptState::Failed {
            transaction,
            reason,
        } => ChainPlan::Refuse {
            reason: reason.clone(),
            message: "this payment failed on chain before".into(),
            transaction: transaction.clone(),
        },
    }
}

/// What the chain said about a payment before it is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreFlight {
    /// The payer's token balance (`balanceOf`), in atomic units.
    pub balance: u128,
    /// Whether the authorization's nonce is used (`authorizationState`).
    pub nonce_used: bool,
    /// The revert text of simulating the transfer (`eth_call`), `None` when it succeeded.
    pub simulation_revert: Option<String>,
}

/// Whether a payment of `value` may be submitted after its pre-flight: `Ok` to submit, or the
/// reason code and message to refuse with. The nonce comes first (a used authorization is
/// final), then the balance, then the simulation (which catches the rest: a signature the
/// token rejects, a paused token, a blocked address).
pub fn check_pre_flight(value: u128, pre_flight: &PreFlight) -> Result<(), (Reason, String)> {
    if pre_flight.nonce_used {
        return Err((
            Reason::InvalidExactEvmNonceAlreadyUsed,
            "the token says this authorization was used".into(),
        ));
    }
    if pre_flight.balance < value {
        return Err((
            Reason::InsufficientFunds,
            format!(
                "the payer's token balance {} is below {value}",
                pre_flight.balance
            ),
        ));
    }
    match &pre_flight.simulation_revert {
        None => Ok(()),
        Some(revert) => Err((
            reason_for_revert(revert, Reason::InvalidExactEvmTransactionSimulationFailed),
            format!(
                "simulating the transfer reverted: {}",
                crate::error::truncate_for_message(revert)
            ),
        )),
    }
}

/// The reason code of a `transferWithAuthorization` revert, from its text as USDC (FiatToken)
/// words it; `otherwise` for a text it does not recognise.
pub fn reason_for_revert(revert: &str, otherwise: Reason) -> Reason {
    let text = revert.to_ascii_lowercase();
    if text.contains("authorization is expired") {
        Reason::InvalidExactEvmPayloadAuthorizationValidBefore
    } else if text.contains("authorization is not yet valid") {
        Reason::InvalidExactEvmPayloadAuthorizationValidAfter
    } else if text.contains("authorization is used") {
        Reason::InvalidExactEvmNonceAlreadyUsed
    } else if text.contains("exceeds balance") {
        Reason::InsufficientFunds
    } else if text.contains("invalid signature") {
        Reason::InvalidExactEvmSignature
    } else {
        otherwise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(n: u8) -> Fingerprint {
        crate::idempotency::fingerprint("POST", "/settle", &[n])
    }

    fn attempt(state: AttemptState) -> Attempt {
        Attempt {
            payment_id: "pay_1".into(),
            fingerprint: fingerprint(1),
            state,
        }
    }

    #[test]
    fn a_new_authorization_is_submitted_and_a_replay_gets_the_first_outcome() {
        assert_eq!(decide(&fingerprint(1), None), ChainPlan::Submit);
        let settled = attempt(AttemptState::Settled {
            transaction: "0xabc".into(),
        });
        assert_eq!(
            decide(&fingerprint(1), Some(&settled)),
            ChainPlan::Settled {
                transaction: "0xabc".into()
            }
        );
        let in_flight = attempt(AttemptState::Submitted {
            transaction: "0xdef".into(),
        });
        assert_eq!(
            decide(&fingerprint(1), Some(&in_flight)),
            ChainPlan::Pending {
                transaction: Some("0xdef".into())
            }
        );
        assert_eq!(
            decide(&fingerprint(1), Some(&attempt(AttemptState::Submitting))),
            ChainPlan::Pending { transaction: None }
        );
        let failed = attempt(AttemptState::Failed {
            transaction: Some("0x123".into()),
            reason: Reason::InsufficientFunds,
        });
        match decide(&fingerprint(1), Some(&failed)) {
            ChainPlan::Refuse {
                reason,
                transaction,
                ..
            } => assert_eq!(
                (reason, transaction),
                (Reason::InsufficientFunds, Some("0x123".into()))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_request_with_a_used_nonce_learns_nothing_of_the_first() {
        let settled = attempt(AttemptState::Settled {
            transaction: "0xabc".into(),
        });
        match decide(&fingerprint(2), Some(&settled)) {
            ChainPlan::Refuse {
                reason,
                transaction,
                ..
            } => {
                assert_eq!(reason, Reason::InvalidExactEvmNonceAlreadyUsed);
                assert_eq!(
                    transaction, None,
                    "the first payment's hash is not revealed"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pre_flight_checks_nonce_then_balance_then_simulation() {
        let clean = PreFlight {
            balance: 100,
            nonce_used: false,
            simulation_revert: None,
        };
        assert_eq!(check_pre_flight(100, &clean), Ok(()));
        let short = PreFlight {
            balance: 99,
            ..clean.clone()
        };
        assert_eq!(
            check_pre_flight(100, &short).unwrap_err().0,
            Reason::InsufficientFunds
        );
        let used = PreFlight {
            nonce_used: true,
            ..short.clone()
        };
        assert_eq!(
            check_pre_flight(100, &used).unwrap_err().0,
            Reason::InvalidExactEvmNonceAlreadyUsed
        );
        let reverted = PreFlight {
            simulation_revert: Some("FiatTokenV2: authorization is expired".into()),
            ..clean.clone()
        };
        assert_eq!(
            check_pre_flight(100, &reverted).unwrap_err().0,
            Reason::InvalidExactEvmPayloadAuthorizationValidBefore
        );
        let paused = PreFlight {
            simulation_revert: Some("Pausable: paused".into()),
            ..clean
        };
        assert_eq!(
            check_pre_flight(100, &paused).unwrap_err().0,
            Reason::InvalidExactEvmTransactionSimulationFailed
        );
    }

    #[test]
    fn usdc_revert_texts_map_to_the_official_codes() {
        let cases = [
            (
                "FiatTokenV2: authorization is not yet valid",
                Reason::InvalidExactEvmPayloadAuthorizationValidAfter,
            ),
            (
                "FiatTokenV2: authorization is used or canceled",
                Reason::InvalidExactEvmNonceAlreadyUsed,
            ),
            (
                "ERC20: transfer amount exceeds balance",
                Reason::InsufficientFunds,
            ),
            (
                "FiatTokenV2: invalid signature",
                Reason::InvalidExactEvmSignature,
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(
                reason_for_revert(text, Reason::InvalidExactEvmTransactionFailed),
                reason,
                "{text}"
            );
        }
        assert_eq!(
            reason_for_revert("out of gas", Reason::InvalidExactEvmTransactionFailed),
            Reason::InvalidExactEvmTransactionFailed
        );
    }
}
