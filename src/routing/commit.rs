//! Group commit for inbound routing: messages routed at the same time (a busy gateway shard,
//! a catch-up beside it) share one write transaction, so a burst costs one commit per batch
//! rather than one per message. Each message is applied exactly as alone, in arrival order, and
//! each caller gets its own outcome; if a batch fails, its messages are applied again one by
//! one, so one bad message cannot take the others down with it.
//!
//! Messages are queued by lead (by channel when not routed), in several queues on PostgreSQL so
//! batches run side by side: two batches never touch the same lead or channel rows, so they
//! never wait on (or deadlock with) each other. SQLite has one writer, hence one queue.
//!
//! There is no background task: the first caller to find its queue idle starts a runner (in a
//! task of its own, so a caller that gives up cannot strand the others), which runs until the
//! queue is empty.
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

use super::{Decision, Inbound, Outcome};
use crate::error::{Error, Result};

/// What runs one batch in one transaction: the messages in order in, each one's outcome out.
pub type ApplyBatch =
    Arc<dyn Fn(Vec<Arc<Prepared>>) -> BoxFuture<'static, Result<Vec<Outcome>>> + Send + Sync>;

/// The most messages one transaction takes.
const MAX_BATCH: usize = 64;

/// A message with its decision, ready to be applied.
pub struct Prepared {
    /// The lead the message's rows belong to (its channel's lead, routed or not); its channel
    /// when it has none. Messages with one key share a queue, so concurrent batches never
    /// update the same lead or channel rows.
    pub queue_key: String,
    pub message: Inbound,
    pub decision: Decision,
    /// The lookups behind the decision, for the routing event.
    pub path: serde_json::Value,
    /// The message is in a lead channel of its guild: the channel's catch-up cursor moves.
    pub cursor: bool,
}

struct Waiting {
    prepared: Arc<Prepared>,
    reply: oneshot::Sender<Result<Outcome>>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// A batch runner is at work (it takes what arrives meanwhile).
    running: bool,
}

/// This process's queues of messages waiting for a transaction.
pub struct GroupCommit {
    queues: Vec<Arc<Partition>>,
}

#[derive(Default)]
struct Partition {
    queue: Mutex<Queue>,
}

impl GroupCommit {
    /// `queues` batches may run at once (at least one).
    pub fn new(queues: usize) -> Self {
        Self {
            queues: (0..queues.max(1)).map(|_| Arc::default()).collect(),
        }
    }

    /// Applies `prepared` in the next batch of its queue and returns its outcome once that batch
    /// committed.
    pub async fn apply(&self, prepared: Prepared, apply_batch: ApplyBatch) -> Result<Outcome> {
        let partition = &self.queues[partition_of(&prepared.queue_key, self.queues.len())];
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = partition.lock();
            queue.waiting.push_back(Waiting {
                prepared: Arc::new(prepared),
                reply,
            });
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let runner = Runner {
                commits: partition.clone(),
                apply_batch,
                finished: false,
            };
            tokio::spawn(runner.run());
        }
        answer.await.map_err(|_| {
            Error::internal(anyhow::anyhow!("the routing batch ended without an answer"))
        })?
    }
}

impl Partition {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The queue of a key: the same key always goes to the same queue.
fn partition_of(key: &str, queues: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    usize::try_from(hasher.finish() % queues as u64).unwrap_or(0)
}

/// Runs batches until the queue is empty. Should it stop any other way, dropping it frees the
/// queue: after a panic a new runner takes the messages still waiting, so none waits forever;
/// when the runtime is shutting down (its task cancelled) the waiting callers are answered with
/// an error instead, as no new task could run.
struct Runner {
    commits: Arc<Partition>,
    apply_batch: ApplyBatch,
    finished: bool,
}

impl Runner {
    async fn run(mut self) {
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.commits.lock();
                if queue.waiting.is_empty() {
                    queue.running = false;
                    self.finished = true;
                    return;
                }
                let size = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..size).collect()
            };
            let prepared: Vec<Arc<Prepared>> = batch.iter().map(|w| w.prepared.clone()).collect();
            match (self.apply_batch)(prepared).await {
                Ok(outcomes) => {
                    for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                        let _ = waiting.reply.send(Ok(outcome));
                    }
                }
                Err(err) if batch.len() == 1 => {
                    if let Some(waiting) = batch.into_iter().next() {
                        let _ = waiting.reply.send(Err(err));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, size = batch.len(), "a routing batch failed; applying its messages one by one");
                    for waiting in batch {
                        let outcome = (self.apply_batch)(vec![waiting.prepared.clone()])
                            .await
                            .and_then(|outcomes| {
                                outcomes.into_iter().next().ok_or_else(|| {
                                    Error::internal(anyhow::anyhow!(
                                        "a routing batch of one gave no outcome"
                                    ))
                                })
                            });
                        let _ = waiting.reply.send(outcome);
                    }
                }
            }
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let panicked = std::thread::panicking();
        let restart = {
            let mut queue = self.commits.lock();
            if !panicked {
                // Cancelled: dropping the waiting entries answers their callers with an error.
                queue.waiting.clear();
            }
            queue.running = panicked && !queue.waiting.is_empty();
            queue.running
        };
        if restart && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let runner = Runner {
                commits: self.commits.clone(),
                apply_batch: self.apply_batch.clone(),
                finished: false,
            };
            runtime.spawn(runner.run());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{discord::Source, routing::Reason, types::Snowflake};

    fn prepared(id: u64, content: &str) -> Prepared {
        Prepared {
            message: Inbound {
                message_id: Snowflake::new(id).expect("non-zero"),
                channel_id: Snowflake::new(10 + id % 3).expect("non-zero"),
                guild_id: None,
                author_id: Snowflake::new(99).expect("non-zero"),
                author_bot: false,
                author_name: None,
                webhook_id: None,
                kind: 0,
                nonce: None,
                content: content.to_owned(),
                source: Source::Gateway,
            },
            queue_key: id.to_string(),
            decision: Decision::Ignored {
                company_id: None,
                reason: Reason::BotAuthor,
            },
            path: serde_json::Value::Null,
            cursor: false,
        }
    }

    /// A batch that takes a while, answers each message with an id of its own, records its
    /// size, and fails whole when it holds a "poison" message beside others.
    fn fake(sizes: Arc<Mutex<Vec<usize>>>) -> ApplyBatch {
        Arc::new(move |batch: Vec<Arc<Prepared>>| {
            let sizes = sizes.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                sizes.lock().expect("sizes").push(batch.len());
                if batch.iter().any(|p| p.message.content == "poison") {
                    return Err(Error::internal(anyhow::anyhow!("poison")));
                }
                Ok(batch
                    .iter()
                    .map(|p| {
                        Outcome::Stored(uuid::Uuid::from_u128(p.message.message_id.get().into()))
                    })
                    .collect())
            })
        })
    }

    #[tokio::test]
    async fn concurrent_callers_share_batches_and_each_gets_its_own_outcome() {
        let commits = GroupCommit::new(1);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let outcomes = futures::future::join_all(
            (1..=30).map(|id| commits.apply(prepared(id, "hello"), fake(sizes.clone()))),
        )
        .await;
        for (id, outcome) in (1u128..=30).zip(outcomes) {
            assert_eq!(
                outcome.expect("applied"),
                Outcome::Stored(uuid::Uuid::from_u128(id))
            );
        }
        let sizes = sizes.lock().expect("sizes").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 30);
        assert!(
            sizes.iter().any(|&n| n > 1),
            "no batch was shared: {sizes:?}"
        );
        assert!(sizes.iter().all(|&n| n <= MAX_BATCH));
    }

    #[tokio::test]
    async fn a_failing_batch_is_applied_again_one_by_one() {
        let commits = GroupCommit::new(1);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let outcomes = futures::future::join_all((1..=10).map(|id| {
            let content = if id == 5 { "poison" } else { "fine" };
            commits.apply(prepared(id, content), fake(sizes.clone()))
        }))
        .await;
        for (id, outcome) in (1u128..=10).zip(outcomes) {
            if id == 5 {
                assert!(outcome.is_err(), "the bad message fails alone");
            } else {
                assert_eq!(
                    outcome.expect("applied"),
                    Outcome::Stored(uuid::Uuid::from_u128(id))
                );
            }
        }
        // And the queue is free again.
        let later = commits
            .apply(prepared(11, "fine"), fake(sizes.clone()))
            .await;
        assert_eq!(
            later.expect("applied"),
            Outcome::Stored(uuid::Uuid::from_u128(11))
        );
    }

    /// A batch that panics fails its own callers; a new runner serves the ones waiting behind
    /// it, and the queue keeps working.
    #[tokio::test]
    async fn a_panicking_batch_strands_nobody() {
        let commits = GroupCommit::new(1);
        let panicking: ApplyBatch = Arc::new(|batch: Vec<Arc<Prepared>>| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                assert!(
                    !batch.iter().any(|p| p.message.content == "panic"),
                    "a bug in a batch"
                );
                Ok(batch
                    .iter()
                    .map(|p| {
                        Outcome::Stored(uuid::Uuid::from_u128(p.message.message_id.get().into()))
                    })
                    .collect())
            })
        });
        let first = commits.apply(prepared(1, "panic"), panicking.clone());
        let second = async {
            // Queued while the first batch runs.
            tokio::time::sleep(Duration::from_millis(5)).await;
            commits.apply(prepared(2, "fine"), panicking.clone()).await
        };
        let (first, second) = tokio::join!(first, second);
        assert!(first.is_err(), "the panicking batch's caller gets an error");
        assert_eq!(
            second.expect("served by a new runner"),
            Outcome::Stored(uuid::Uuid::from_u128(2))
        );
    }

    #[test]
    fn a_key_always_goes_to_the_same_queue() {
        for key in ["a", "lead-1", "42"] {
            let queue = partition_of(key, 4);
            assert!(queue < 4);
            assert_eq!(partition_of(key, 4), queue);
        }
        assert_eq!(partition_of("anything", 1), 0);
    }
}
