//! The outbox on both databases: one worker per job, backoff, dead after five attempts (a message delivery after eight).
use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use switchboard::{
    entities::job,
    jobs::{self, Failure, JobKind, JobState},
};

/// The kind of the jobs these tests enqueue: any, as no worker runs beside them.
const KIND: JobKind = JobKind::DeliverMessage;

idle_storage_test!(concurrent_workers_claim_each_job_exactly_once, |app| {
    let db = &app.state.db;
    let mut enqueued = BTreeSet::new();
    for i in 0..20 {
        enqueued.insert(
            jobs::enqueue(db, None, KIND, serde_json::json!({"n": i}))
                .await
                .expect("enqueue")
                .id,
        );
    }
    let workers = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = jobs::claim_next(&db, KIND).await.expect("claim") {
                mine.push(job.id);
            }
            mine
        })
    });
    let claimed: Vec<_> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|r| r.expect("worker"))
        .collect();
    assert_eq!(claimed.len(), 20, "every job claimed once, none twice");
    assert_eq!(claimed.into_iter().collect::<BTreeSet<_>>(), enqueued);
});

idle_storage_test!(
    a_failing_job_backs_off_and_dies_after_five_attempts_a_message_delivery_after_eight,
    |app| {
        let db = &app.state.db;
        for (kind, attempts, expected) in [
            (JobKind::DiscordCleanup, 5, vec![1, 2, 4, 8]),
            (JobKind::DeliverMessage, 8, vec![1, 2, 4, 8, 16, 16, 16]),
        ] {
            let queued = jobs::enqueue(db, None, kind, serde_json::json!({}))
                .await
                .expect("enqueue");
            let mut waits = Vec::new();
            for attempt in 1..=attempts {
                // Make it due, claim it, fail it.
                job::Entity::update_many()
                    .col_expr(
                        job::Column::RunAt,
                        sea_orm::sea_query::Expr::value(
                            chrono::Utc::now() - chrono::Duration::seconds(1),
                        ),
                    )
                    .filter(job::Column::Id.eq(queued.id))
                    .exec(db)
                    .await
                    .expect("due");
                let claimed = jobs::claim(db, queued.id)
                    .await
                    .expect("claim")
                    .expect("pending");
                assert_eq!(claimed.attempts, attempt);
                let before = chrono::Utc::now();
                let failed = jobs::fail(
                    db,
                    claimed,
                    Failure::Retry {
                        reason: format!("attempt {attempt}"),
                        not_before: None,
                    },
                )
                .await
                .expect("fail");
                if attempt < attempts {
                    assert_eq!(failed.state, JobState::Pending, "{kind:?} {attempt}");
                    waits.push((failed.run_at - before).num_milliseconds());
                } else {
                    assert_eq!(failed.state, JobState::Dead, "{kind:?} {attempt}");
                    assert_eq!(
                        failed.last_error.as_deref(),
                        Some(format!("attempt {attempts}").as_str())
                    );
                }
            }
            let rounded: Vec<i64> = waits.iter().map(|ms| (ms + 500) / 1000).collect();
            assert_eq!(rounded, expected, "{kind:?}");
            assert!(
                jobs::claim(db, queued.id).await.expect("claim").is_none(),
                "a dead job is not claimed"
            );
        }
    }
);

idle_storage_test!(
    a_platform_retry_after_longer_than_the_backoff_is_honoured,
    |app| {
        let db = &app.state.db;
        let queued = jobs::enqueue(db, None, KIND, serde_json::json!({}))
            .await
            .expect("enqueue");
        let claimed = jobs::claim(db, queued.id)
            .await
            .expect("claim")
            .expect("pending");
        let before = chrono::Utc::now();
        let failed = jobs::fail(
            db,
            claimed,
            Failure::Retry {
                reason: "429".into(),
                not_before: Some(std::time::Duration::from_secs(30)),
            },
        )
        .await
        .expect("fail");
        assert!((failed.run_at - before).num_seconds() >= 29);
        let permanent = jobs::enqueue(db, None, KIND, serde_json::json!({}))
            .await
            .expect("enqueue");
        let claimed = jobs::claim(db, permanent.id)
            .await
            .expect("claim")
            .expect("pending");
        let dead = jobs::fail(
            db,
            claimed,
            Failure::Permanent {
                reason: "403 Missing Access".into(),
            },
        )
        .await
        .expect("fail");
        assert_eq!(
            (dead.state, dead.attempts),
            (JobState::Dead, 1),
            "permanent failures are not retried"
        );
    }
);

idle_storage_test!(
    a_job_whose_worker_died_is_claimed_again_after_its_lease,
    |app| {
        let db = &app.state.db;
        let queued = jobs::enqueue(db, None, KIND, serde_json::json!({}))
            .await
            .expect("enqueue");
        jobs::claim(db, queued.id)
            .await
            .expect("claim")
            .expect("pending");
        assert!(
            jobs::claim_next(db, KIND).await.expect("claim").is_none(),
            "running and leased"
        );
        job::Entity::update_many()
            .col_expr(
                job::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
            )
            .exec(db)
            .await
            .expect("expire the lease");
        let again = jobs::claim_next(db, KIND)
            .await
            .expect("claim")
            .expect("reclaimed");
        assert_eq!((again.id, again.attempts), (queued.id, 2));
    }
);
