//! The group-commit pipeline: settlements arriving together are applied by
//! [`posting::apply`](super::posting::apply) in one transaction and committed once, then each
//! is answered. A batch whose commit has an unknown outcome answers every member
//! `settlement_pending` (its retry finds the outcome); a batch in which anything fails before
//! the commit is dropped and its members are settled one by one, each a batch of one.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::posting::{apply, BatchOutcome, Job};
use super::{answer, pending};
use crate::base::error::ApiError;
use crate::services::state::AppState;
use crate::settle::Settled;

/// One settlement in the queue, with where its answer goes.
struct Member {
    state: AppState,
    job: Job,
    reply: oneshot::Sender<Result<Settled, ApiError>>,
}

/// The queues of the pipeline's workers. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    queues: Vec<mpsc::Sender<Member>>,
}

impl Pipeline {
    /// Starts `workers` batchers, each committing batches of at most `max` settlements
    /// gathered for at most `wait` after the first arrives (nothing is waited for when `wait`
    /// is zero: a batch is what queued while the previous one committed). A payer's
    /// settlements always go to the same worker, so two batches never wait on each other's
    /// payer locks (PostgreSQL runs several at once; SQLite has one writer and wants one
    /// worker).
    pub fn start(workers: usize, max: usize, wait: Duration) -> Pipeline {
        let max = max.max(1);
        let queues = (0..workers.max(1))
            .map(|_| {
                let (queue, mut arrivals) = mpsc::channel::<Member>(max * 16);
                tokio::spawn(async move {
                    while let Some(first) = arrivals.recv().await {
                        let mut batch = vec![first];
                        let deadline = tokio::time::Instant::now() + wait;
                        while batch.len() < max {
                            let next = match arrivals.try_recv() {
                                Ok(next) => next,
                                Err(_) if wait.is_zero() => break,
                                Err(_) => {
                                    match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                                        Ok(Some(next)) => next,
                                        _ => break,
                                    }
                                }
                            };
                            batch.push(next);
                        }
                        run(batch).await;
                    }
                });
                queue
            })
            .collect();
        Pipeline { queues }
    }

    /// Settles `job` in the next batch of its payer's worker.
    pub async fn submit(&self, state: &AppState, job: Job) -> Result<Settled, ApiError> {
        let (reply, answered) = oneshot::channel();
        // The payer picks the worker: its settlements are serialized in one place.
        let worker = {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            job.checked.payer_wallet.hash(&mut hasher);
            (hasher.finish() % self.queues.len().max(1) as u64) as usize
        };
        let member = Member {
            state: state.clone(),
            job,
            reply,
        };
        if self.queues[worker].send(member).await.is_err() {
            return Err(ApiError::Internal("the settlement pipeline stopped".into()));
        }
        answered.await.unwrap_or_else(|_| {
            Err(ApiError::Internal(
                "the settlement pipeline dropped a payment".into(),
            ))
        })
    }
}

/// One settlement in a transaction of its own: a batch of one.
pub async fn settle_alone(state: &AppState, job: Job) -> Result<Settled, ApiError> {
    match apply(state, &[&job]).await? {
        BatchOutcome::Done(mut outcomes) => match outcomes.pop() {
            Some(outcome) => answer(state, &job, outcome?).await,
            None => Err(ApiError::Internal("a settlement had no outcome".into())),
        },
        BatchOutcome::Unknown => Ok(pending(&job)),
    }
}

async fn run(batch: Vec<Member>) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let state = batch[0].state.clone();
    let jobs: Vec<&Job> = batch.iter().map(|member| &member.job).collect();
    match apply(&state, &jobs).await {
        Ok(BatchOutcome::Done(outcomes)) => {
            for (member, outcome) in batch.into_iter().zip(outcomes) {
                let answered = match outcome {
                    Ok(applied) => answer(&member.state, &member.job, applied).await,
                    Err(e) => Err(e),
                };
                let _ = member.reply.send(answered);
            }
        }
        // Committed or not, nobody can tell: every member is pending; a retry finds out.
        Ok(BatchOutcome::Unknown) => {
            for member in batch {
                let _ = member.reply.send(Ok(pending(&member.job)));
            }
        }
        // Nothing was committed: settle each on its own.
        Err(e) if size > 1 => {
            tracing::warn!(error = %e, size, "a settlement batch failed before its commit; settling its members one by one");
            crate::infra::metrics::settlement_batch_fallback();
            for member in batch {
                let answered = settle_alone(&member.state, member.job).await;
                let _ = member.reply.send(answered);
            }
        }
        Err(e) => {
            if let Some(member) = batch.into_iter().next() {
                let _ = member.reply.send(Err(e));
            }
        }
    }
    crate::infra::metrics::settlement_batch(size, started.elapsed().as_secs_f64());
}
