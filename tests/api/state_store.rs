//! The state store contract, run against the in-process store and against Redis.
use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use switchboard::state::{MemoryStore, RedisStore, SharedState};
use uuid::Uuid;

macro_rules! state_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body may or may not use the enclosing module's imports")]
            use super::*;

            async fn run($store: SharedState) $body

            #[tokio::test]
            async fn memory() {
                run(Arc::new(MemoryStore::new())).await
            }

            #[tokio::test]
            #[ignore = "needs Redis: run scripts/test"]
            async fn redis() {
                let url = crate::helpers::services_env("TEST_REDIS_URL");
                let namespace = format!("test:{}", Uuid::new_v4().simple());
                run(Arc::new(RedisStore::connect(&url, &namespace).await.expect("redis"))).await
            }
        }
    };
}

state_test!(a_value_is_kept_until_its_ttl, |store| {
    store
        .put("k", b"v", Duration::from_millis(300))
        .await
        .expect("put");
    assert_eq!(store.get("k").await.expect("get"), Some(b"v".to_vec()));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.get("k").await.expect("get"), None);
});

state_test!(put_replaces_and_delete_removes, |store| {
    store
        .put("k", b"one", Duration::from_secs(60))
        .await
        .expect("put");
    store
        .put("k", b"two", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(store.get("k").await.expect("get"), Some(b"two".to_vec()));
    assert!(store.delete("k").await.expect("delete"));
    assert!(!store.delete("k").await.expect("delete"));
    assert_eq!(store.get("k").await.expect("get"), None);
});

state_test!(put_if_absent_stores_only_once, |store| {
    assert!(
        store
            .put_if_absent("lock", b"a", Duration::from_secs(60))
            .await
            .expect("first")
    );
    assert!(
        !store
            .put_if_absent("lock", b"b", Duration::from_secs(60))
            .await
            .expect("second")
    );
    assert_eq!(store.get("lock").await.expect("get"), Some(b"a".to_vec()));
});

state_test!(put_if_absent_succeeds_again_after_expiry, |store| {
    assert!(
        store
            .put_if_absent("lease", b"a", Duration::from_millis(200))
            .await
            .expect("first")
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        store
            .put_if_absent("lease", b"b", Duration::from_secs(60))
            .await
            .expect("after expiry")
    );
});

state_test!(
    take_hands_a_value_to_exactly_one_of_many_concurrent_callers,
    |store| {
        store
            .put("oauth_state:x", b"payload", Duration::from_secs(60))
            .await
            .expect("put");
        let takers = (0..20).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take("oauth_state:x").await.expect("take") })
        });
        let results = futures::future::join_all(takers).await;
        let winners = results
            .into_iter()
            .filter(|r| matches!(r, Ok(Some(_))))
            .count();
        assert_eq!(winners, 1);
        assert_eq!(store.get("oauth_state:x").await.expect("get"), None);
    }
);

state_test!(counters_count_within_their_window, |store| {
    for expected in 1..=3 {
        assert_eq!(
            store
                .increment("hits", Duration::from_millis(300))
                .await
                .expect("incr"),
            expected
        );
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        store
            .increment("hits", Duration::from_millis(300))
            .await
            .expect("incr"),
        1
    );
});

state_test!(subscribers_receive_messages_in_order, |store| {
    let mut first = store.subscribe("events").await.expect("subscribe");
    let mut second = store.subscribe("events").await.expect("subscribe");
    let mut elsewhere = store.subscribe("other").await.expect("subscribe");
    for i in 0..5 {
        store
            .publish("events", format!("m{i}").as_bytes())
            .await
            .expect("publish");
    }
    for sub in [&mut first, &mut second] {
        for i in 0..5 {
            let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .expect("in time");
            assert_eq!(msg.as_deref(), Some(format!("m{i}").as_bytes()));
        }
    }
    let nothing = tokio::time::timeout(Duration::from_millis(200), elsewhere.next()).await;
    assert!(nothing.is_err(), "a message leaked to another channel");
});

state_test!(publishing_with_no_subscribers_is_fine, |store| {
    store
        .publish("nobody-listens", b"hello")
        .await
        .expect("publish");
    store.ping().await.expect("ping");
});

#[tokio::test]
#[ignore = "needs Redis: run scripts/test"]
async fn redis_namespaces_keep_deployments_apart() {
    let url = crate::helpers::services_env("TEST_REDIS_URL");
    let a = RedisStore::connect(&url, &format!("test:{}", Uuid::new_v4().simple()))
        .await
        .expect("redis");
    let b = RedisStore::connect(&url, &format!("test:{}", Uuid::new_v4().simple()))
        .await
        .expect("redis");
    use switchboard::state::StateStore;
    a.put("shared-name", b"a", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(b.get("shared-name").await.expect("get"), None);
}

state_test!(a_lease_is_renewed_and_released_only_by_its_owner, |store| {
    let ttl = Duration::from_millis(400);
    assert!(store.put_if_absent("shard", b"a", ttl).await.expect("take"));
    assert!(
        !store
            .extend_if_equal("shard", b"b", ttl)
            .await
            .expect("other renews")
    );
    assert!(
        !store
            .delete_if_equal("shard", b"b")
            .await
            .expect("other releases")
    );
    // Renewed past its first expiry by its owner, it is still held.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        store
            .extend_if_equal("shard", b"a", ttl)
            .await
            .expect("owner renews")
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.get("shard").await.expect("get"), Some(b"a".to_vec()));
    assert!(
        store
            .delete_if_equal("shard", b"a")
            .await
            .expect("owner releases")
    );
    assert_eq!(store.get("shard").await.expect("get"), None);
    // An expired lease cannot be renewed: someone else may have it by now.
    assert!(
        store
            .put_if_absent("shard", b"a", Duration::from_millis(100))
            .await
            .expect("again")
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        !store
            .extend_if_equal("shard", b"a", ttl)
            .await
            .expect("expired")
    );
});

/// Redis's shared limits, which replicas pace Discord's calls by.
mod shared_limits {
    use std::time::Duration;

    use switchboard::state::{
        RedisStore, StateStore,
        limits::{BucketState, SharedLimits},
    };
    use uuid::Uuid;

    async fn limits() -> SharedLimits {
        let url = crate::helpers::services_env("TEST_REDIS_URL");
        let namespace = format!("test:{}", Uuid::new_v4().simple());
        RedisStore::connect(&url, &namespace)
            .await
            .expect("redis")
            .shared_limits()
            .expect("Redis shares limits")
    }

    #[tokio::test]
    async fn the_in_process_store_shares_nothing() {
        assert!(
            switchboard::state::MemoryStore::new()
                .shared_limits()
                .is_none()
        );
    }

    #[tokio::test]
    #[ignore = "needs Redis: run scripts/test"]
    async fn the_pacer_hands_out_slots_an_interval_apart_and_honours_a_pause() {
        let limits = limits().await;
        let interval = Duration::from_millis(20);
        let longest = Duration::from_secs(1);
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(
                limits
                    .reserve("p", interval, longest)
                    .await
                    .expect("reserve")
                    .expect("a slot"),
            );
        }
        // Asked at once: each slot 20 ms after the one before (less the time the asking took).
        for pair in waits.windows(2) {
            let gap = pair[1].saturating_sub(pair[0]);
            assert!(
                gap > Duration::from_millis(15) && gap <= interval,
                "{waits:?}"
            );
        }
        // A slot further away than the longest wait is not taken.
        assert_eq!(
            limits
                .reserve("p", interval, Duration::ZERO)
                .await
                .expect("reserve"),
            None
        );
        limits
            .pause("p", Duration::from_millis(500))
            .await
            .expect("pause");
        let after_pause = limits
            .reserve("p", interval, longest)
            .await
            .expect("reserve")
            .expect("a slot");
        assert!(after_pause > Duration::from_millis(400), "{after_pause:?}");
    }

    #[tokio::test]
    #[ignore = "needs Redis: run scripts/test"]
    async fn a_bucket_lets_through_what_it_was_told_and_starts_its_next_window_itself() {
        let limits = limits().await;
        let margin = Duration::from_millis(10);
        // Unknown: one call at a time until an answer teaches the bucket.
        assert_eq!(
            limits.take("b", margin).await.expect("take"),
            Duration::ZERO
        );
        assert!(
            limits.take("b", margin).await.expect("take") > Duration::ZERO,
            "a second probe waits"
        );
        let told = BucketState {
            limit: 2,
            remaining: 1,
            reset_after: Duration::from_millis(300),
        };
        limits.learn("b", told, margin).await.expect("learn");
        assert_eq!(
            limits.take("b", margin).await.expect("take"),
            Duration::ZERO
        );
        let wait = limits.take("b", margin).await.expect("take");
        assert!(
            wait > Duration::from_millis(200) && wait <= Duration::from_millis(320),
            "{wait:?}"
        );
        // An older answer of the same window cannot give calls back.
        limits
            .learn(
                "b",
                BucketState {
                    remaining: 1,
                    ..told
                },
                margin,
            )
            .await
            .expect("learn");
        assert!(limits.take("b", margin).await.expect("take") > Duration::ZERO);
        // After the reset a new window starts with the next call: `limit` calls again.
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
        assert_eq!(
            limits.take("b", margin).await.expect("take"),
            Duration::ZERO
        );
        assert_eq!(
            limits.take("b", margin).await.expect("take"),
            Duration::ZERO
        );
        assert!(limits.take("b", margin).await.expect("take") > Duration::ZERO);
    }
}
