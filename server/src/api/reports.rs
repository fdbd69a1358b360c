//! Revenue and spending, computed from the journal: a provider's payout wallet's payment
//! postings (net) with their entries' fee postings, or an agent wallet's (gross) — summed in
//! atomic units with checked arithmetic, grouped by period (UTC day or month), by resource and
//! by counterparty, and shown as exact decimal strings in each asset's units. Also the CSV
//! export of payments.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::Json;
use paywire_core::policy::{Policy, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::payments::PaymentQuery;
use crate::base::error::ApiError;
use crate::base::util::now_i64;
use crate::services::auth::Caller;
use crate::services::state::AppState;
use crate::store;
use crate::store::reports::Line;

/// `GET /v1/providers/{id}/revenue` and `GET /v1/agents/{id}/spending` parameters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// From this time (unix seconds, inclusive) [default: 30 days ago].
    pub from: Option<i64>,
    /// To this time (unix seconds, inclusive) [default: now].
    pub to: Option<i64>,
    /// `day` or `month` [default: day].
    pub granularity: Option<String>,
}

/// Sums over a set of payments, in the asset's units (decimal strings).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sums {
    /// What payers paid.
    pub gross: String,
    /// The platform's fees.
    pub fees: String,
    /// What the provider kept.
    pub net: String,
    /// How many payments.
    pub payments: u64,
}

/// One group of a report: a period, an endpoint, a payer, a provider.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group's key: `2026-11-30` or `2026-11`, a resource URL, a payer, a provider id.
    pub key: String,
    /// The paying agent, for payer groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Its sums.
    #[serde(flatten)]
    pub sums: Sums,
}

/// A report's figures in one asset.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetReport {
    /// The balance key of the asset.
    pub asset: String,
    /// Over the whole range.
    pub totals: Sums,
    /// By day or month, oldest first; periods without payments are left out.
    pub by_period: Vec<Group>,
    /// By resource (the endpoint's URL), largest gross first.
    pub by_endpoint: Vec<Group>,
    /// Revenue: the ten payers who paid most. Spending: by provider.
    pub by_counterparty: Vec<Group>,
}

/// A provider's revenue, or an agent's spending, over a time range.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The provider or agent.
    pub tenant_id: String,
    /// Its wallet the figures are read from (the journal's postings).
    pub wallet_id: String,
    /// The range, unix seconds, inclusive.
    pub from: i64,
    /// The range's end.
    pub to: i64,
    /// `day` or `month`.
    pub granularity: String,
    /// One report per asset.
    pub assets: Vec<AssetReport>,
    /// Spending reports: the agent's policy, what its limits are measured against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Spending reports: the agent's usage as the policy counts it (today, this month).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// The default range: the last 30 days.
pub const DEFAULT_RANGE_SECONDS: i64 = 30 * 86_400;
/// The longest range one report covers (about ten years).
pub const MAX_RANGE_SECONDS: i64 = 3_660 * 86_400;
/// Top payers listed in a revenue report.
pub const TOP_PAYERS: usize = 10;
/// The most payments one CSV export holds.
pub const MAX_EXPORT_ROWS: i64 = 100_000;

/// Sums in atomic units.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    gross: i128,
    fees: i128,
    net: i128,
    payments: u64,
}

impl Tally {
    fn add(&mut self, gross: i128, fee: i128, net: i128) -> Result<(), ApiError> {
        let overflow = || ApiError::Internal("a report's sum overflows".into());
        self.gross = self.gross.checked_add(gross).ok_or_else(overflow)?;
        self.fees = self.fees.checked_add(fee).ok_or_else(overflow)?;
        self.net = self.net.checked_add(net).ok_or_else(overflow)?;
        self.payments += 1;
        Ok(())
    }
}

/// Which figures a line carries, seen from its wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A provider's net posting; gross = net + fee.
    Revenue,
    /// An agent's (negative) gross posting; net = gross − fee.
    Spending,
}

fn period(at: i64, monthly: bool) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    if monthly {
        format!("{:04}-{:02}", date.year(), u8::from(date.month()))
    } else {
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    }
}

fn format(state: &AppState, asset: &str, atomic: i128) -> String {
    crate::api::page::signed_amount(state, asset, atomic)
}

fn sums(state: &AppState, asset: &str, tally: Tally) -> Sums {
    Sums {
        gross: format(state, asset, tally.gross),
        fees: format(state, asset, tally.fees),
        net: format(state, asset, tally.net),
        payments: tally.payments,
    }
}

#[derive(Default)]
struct PerAsset {
    totals: Tally,
    by_period: BTreeMap<String, Tally>,
    by_endpoint: BTreeMap<String, Tally>,
    /// Key → (tally, agent id).
    by_counterparty: BTreeMap<String, (Tally, Option<String>)>,
}

fn aggregate(
    state: &AppState,
    lines: &[Line],
    side: Side,
    monthly: bool,
) -> Result<Vec<AssetReport>, ApiError> {
    let mut assets: BTreeMap<String, PerAsset> = BTreeMap::new();
    for line in lines {
        let (posted, fee) = (i128::from(line.posted), i128::from(line.fee));
        let (gross, net) = match side {
            Side::Revenue => (posted + fee, posted),
            Side::Spending => (-posted, -posted - fee),
        };
        let entry = assets.entry(line.asset.clone()).or_default();
        entry.totals.add(gross, fee, net)?;
        entry
            .by_period
            .entry(period(line.created_at, monthly))
            .or_default()
            .add(gross, fee, net)?;
        entry
            .by_endpoint
            .entry(line.resource.clone().unwrap_or_else(|| "(unknown)".into()))
            .or_default()
            .add(gross, fee, net)?;
        let (key, agent) = match side {
            Side::Revenue => (line.payer.clone(), line.agent_id.clone()),
            Side::Spending => (
                line.provider_id.clone().unwrap_or_else(|| "(none)".into()),
                None,
            ),
        };
        let counterparty = entry.by_counterparty.entry(key).or_default();
        counterparty.0.add(gross, fee, net)?;
        counterparty.1 = agent;
    }
    Ok(assets
        .into_iter()
        .map(|(asset, per)| {
            let group = |key: String, tally: Tally, agent_id: Option<String>| Group {
                key,
                agent_id,
                sums: sums(state, &asset, tally),
            };
            let by_period = per
                .by_period
                .into_iter()
                .map(|(k, t)| group(k, t, None))
                .collect();
            let mut endpoints: Vec<(String, Tally)> = per.by_endpoint.into_iter().collect();
            endpoints.sort_by(|a, b| b.1.gross.cmp(&a.1.gross).then(a.0.cmp(&b.0)));
            let mut counterparties: Vec<(String, (Tally, Option<String>))> =
                per.by_counterparty.into_iter().collect();
            counterparties.sort_by(|a, b| b.1 .0.gross.cmp(&a.1 .0.gross).then(a.0.cmp(&b.0)));
            if side == Side::Revenue {
                counterparties.truncate(TOP_PAYERS);
            }
            AssetReport {
                totals: sums(state, &asset, per.totals),
                by_period,
                by_endpoint: endpoints
                    .into_iter()
                    .map(|(k, t)| group(k, t, None))
                    .collect(),
                by_counterparty: counterparties
                    .into_iter()
                    .map(|(k, (t, agent))| group(k, t, agent))
                    .collect(),
                asset,
            }
        })
        .collect())
}

/// The range and granularity asked for, checked.
fn range(query: &ReportQuery) -> Result<(i64, i64, bool), ApiError> {
    let invalid = |message: String| ApiError::Invalid {
        code: "report_range_invalid",
        message,
    };
    let to = query.to.unwrap_or_else(now_i64);
    let from = query
        .from
        .unwrap_or_else(|| to.saturating_sub(DEFAULT_RANGE_SECONDS));
    if from < 0 || to < from {
        return Err(invalid(format!(
            "from ({from}) must be at least 0 and at most to ({to})"
        )));
    }
    if to - from > MAX_RANGE_SECONDS {
        return Err(invalid(format!(
            "a report covers at most {MAX_RANGE_SECONDS} seconds"
        )));
    }
    let monthly = match query.granularity.as_deref() {
        None | Some("day") => false,
        Some("month") => true,
        Some(other) => {
            return Err(invalid(format!(
                "granularity is day or month, not {other:?}"
            )))
        }
    };
    Ok((from, to, monthly))
}

async fn report(
    state: &AppState,
    tenant_id: &str,
    kind: &str,
    query: &ReportQuery,
) -> Result<Report, ApiError> {
    let (from, to, monthly) = range(query)?;
    let object = if kind == "provider" {
        "provider"
    } else {
        "agent"
    };
    let wallet_id = store::reports::wallet_of(&state.pool, tenant_id, kind)
        .await?
        .ok_or(ApiError::NotFound(object))?;
    let lines = store::reports::lines(&state.pool, &wallet_id, from, to).await?;
    let side = if kind == "provider" {
        Side::Revenue
    } else {
        Side::Spending
    };
    Ok(Report {
        tenant_id: tenant_id.to_string(),
        assets: aggregate(state, &lines, side, monthly)?,
        wallet_id,
        from,
        to,
        granularity: if monthly { "month" } else { "day" }.into(),
        policy: None,
        usage: None,
    })
}

/// `GET /v1/providers/{id}/revenue`: gross, fees and net by period, by endpoint, and the top
/// payers (operator, or the provider with `read`).
pub async fn get_revenue(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider_id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    caller.require_tenant(&provider_id, "read", "provider")?;
    Ok(Json(
        report(&state, &provider_id, "provider", &query).await?,
    ))
}

/// `GET /v1/agents/{id}/spending`: what the agent spent by period, by provider and by
/// endpoint, with the policy and usage its limits are measured by (operator, or the agent
/// with `read`).
pub async fn get_spending(
    State(state): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    caller.require_tenant(&agent_id, "read", "agent")?;
    let mut report = report(&state, &agent_id, "agent", &query).await?;
    let (policy, usage, _) = store::wallets::view(&state.pool, &report.wallet_id)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    let stored = |e: serde_json::Error| ApiError::Internal(format!("stored wallet state: {e}"));
    report.policy = policy
        .map(|p| serde_json::from_str(&p))
        .transpose()
        .map_err(stored)?;
    report.usage = Some(serde_json::from_str(&usage).map_err(stored)?);
    Ok(Json(report))
}

/// `GET /v1/payments/export.csv`: the caller's payments under the list's filters (no
/// paging; at most [`MAX_EXPORT_ROWS`]), newest first, as CSV.
pub async fn get_export(
    State(state): State<AppState>,
    caller: Caller,
    Query(mut query): Query<PaymentQuery>,
) -> Result<axum::response::Response, ApiError> {
    if query.limit.is_some() || query.starting_after.is_some() {
        return Err(ApiError::BadRequest(
            "an export is not paged: leave out limit and starting_after".into(),
        ));
    }
    query.limit = Some(1);
    let mut page = crate::api::payments::payment_page(&caller, query)?;
    page.limit = MAX_EXPORT_ROWS;
    let (rows, more) = store::lists::payments(&state.pool, &page)
        .await?
        .ok_or_else(|| ApiError::Internal("an export has no cursor".into()))?;
    if more {
        return Err(ApiError::Invalid {
            code: "export_too_large",
            message: format!(
                "more than {MAX_EXPORT_ROWS} payments: narrow the range with created[gte] and created[lte]"
            ),
        });
    }
    // Payers write some of these fields (the resource, the identifier): a cell a spreadsheet
    // would run as a formula is quoted (OWASP's CSV injection advice).
    let cell = |text: &str| -> String {
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{text}")
        } else {
            text.to_string()
        }
    };
    let mut csv = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    csv.write_record([
        "id",
        "created",
        "network",
        "payer",
        "agent_id",
        "provider_id",
        "asset",
        "amount",
        "fee",
        "net",
        "amount_atomic",
        "resource",
        "payment_identifier",
    ])
    .map_err(internal)?;
    for row in rows {
        let view = crate::api::payments::payment_view(&state, row);
        let record = [
            view.id.as_str(),
            &view.created.to_string(),
            &view.network,
            &view.payer,
            view.agent_id.as_deref().unwrap_or(""),
            view.provider_id.as_deref().unwrap_or(""),
            &view.asset,
            &view.amount,
            &view.fee,
            &view.net,
            &view.amount_atomic,
            view.resource.as_deref().unwrap_or(""),
            view.payment_identifier.as_deref().unwrap_or(""),
        ];
        csv.write_record(record.map(cell)).map_err(internal)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"payments.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_days_and_months() {
        assert_eq!(period(0, false), "1970-01-01");
        assert_eq!(period(1_795_262_400, false), "2026-11-21");
        assert_eq!(period(1_795_262_400, true), "2026-11");
        assert_eq!(period(1_795_305_599, false), "2026-11-21", "23:59:59");
        assert_eq!(period(1_795_305_600, false), "2026-11-22");
    }

    #[test]
    fn ranges_are_checked() {
        let query = |from, to, granularity: Option<&str>| ReportQuery {
            from,
            to,
            granularity: granularity.map(str::to_string),
        };
        assert!(range(&query(Some(10), Some(5), None)).is_err());
        assert!(range(&query(Some(-1), Some(5), None)).is_err());
        assert!(range(&query(Some(0), Some(MAX_RANGE_SECONDS + 1), None)).is_err());
        assert!(range(&query(Some(0), Some(5), Some("week"))).is_err());
        assert_eq!(
            range(&query(Some(0), Some(5), Some("month"))).unwrap(),
            (0, 5, true)
        );
    }
}
