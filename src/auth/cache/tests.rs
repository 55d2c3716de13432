//! Tests of [`super::VerdictCache`] with counting fake loads: TTLs by verdict, errors
//! not stored, coalescing of concurrent misses (successes and failures), the bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::join_all;

use super::*;
use crate::auth::hub::HubError;
use crate::auth::verdict::Denial;
use crate::auth::User;

fn allowed() -> Verdict {
    Verdict::Allowed(Arc::new(User {
        name: "alice".into(),
        groups: vec![],
        namespace: "kbatch-alice".into(),
    }))
}

fn unavailable() -> AuthError {
    AuthError::hub_unavailable(&HubError::Status(502))
}

/// A load that counts its runs, takes `delay`, and returns `outcome`.
async fn counted(
    calls: &AtomicUsize,
    delay: Duration,
    outcome: Result<Verdict, AuthError>,
) -> Result<Verdict, AuthError> {
    calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(delay).await;
    outcome
}

const KEY: TokenHash = [7; 32];
const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_load() {
    let cache = VerdictCache::new(100, LONG, LONG);
    let calls = AtomicUsize::new(0);
    let slow = Duration::from_millis(100);
    let results =
        join_all((0..20).map(|_| cache.get_or_load(KEY, counted(&calls, slow, Ok(allowed())))))
            .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|r| r.as_ref() == Ok(&allowed())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_share_one_load_and_are_not_stored() {
    let cache = VerdictCache::new(100, LONG, LONG);
    let calls = AtomicUsize::new(0);
    let slow = Duration::from_millis(100);
    let results = join_all(
        (0..20).map(|_| cache.get_or_load(KEY, counted(&calls, slow, Err(unavailable())))),
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results
        .iter()
        .all(|r| r.as_ref().err().map(AuthError::status) == Some(503)));
    let next = cache
        .get_or_load(KEY, counted(&calls, Duration::ZERO, Ok(allowed())))
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(next, Ok(allowed()));
}

#[tokio::test]
async fn users_and_refusals_expire_after_their_own_ttl() {
    let cache = VerdictCache::new(100, Duration::from_millis(1500), Duration::from_millis(300));
    let (user_calls, denied_calls) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let denied = Verdict::Denied(Denial::InvalidToken);
    let user_key = [1; 32];
    let denied_key = [2; 32];
    let load_both = || async {
        let user = cache
            .get_or_load(
                user_key,
                counted(&user_calls, Duration::ZERO, Ok(allowed())),
            )
            .await;
        let refusal = cache
            .get_or_load(
                denied_key,
                counted(&denied_calls, Duration::ZERO, Ok(denied.clone())),
            )
            .await;
        assert_eq!(user, Ok(allowed()));
        assert_eq!(refusal, Ok(denied.clone()));
        (
            user_calls.load(Ordering::SeqCst),
            denied_calls.load(Ordering::SeqCst),
        )
    };
    assert_eq!(load_both().await, (1, 1));
    assert_eq!(load_both().await, (1, 1), "both cached");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        load_both().await,
        (1, 2),
        "refusal expired, user still cached"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        load_both().await,
        (2, 3),
        "user expired too (and the refusal again)"
    );
}

#[tokio::test]
async fn size_is_bounded() {
    let cache = VerdictCache::new(10, LONG, LONG);
    let calls = AtomicUsize::new(0);
    for i in 0..100u8 {
        let key = [i; 32];
        let loaded = cache
            .get_or_load(key, counted(&calls, Duration::ZERO, Ok(allowed())))
            .await;
        assert!(loaded.is_ok());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 100);
    assert!(cache.entry_count().await <= 10);
}
