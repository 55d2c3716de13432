//! The token → [`Verdict`] cache: moka, keyed by the token's sha256 (never the token),
//! bounded, with one TTL for users and a shorter one for refusals. Hub failures are
//! never stored, and concurrent misses for one key share one load, its errors included.

use std::future::Future;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;

use super::verdict::Verdict;
use super::AuthError;

/// sha256 of a token.
pub type TokenHash = [u8; 32];

/// Per-entry lifetime: positive or negative TTL by the verdict.
#[derive(Debug, Clone, Copy)]
struct VerdictExpiry {
    positive: Duration,
    negative: Duration,
}

impl Expiry<TokenHash, Verdict> for VerdictExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenHash,
        value: &Verdict,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(match value {
            Verdict::Allowed(_) => self.positive,
            Verdict::Denied(_) => self.negative,
        })
    }
}

/// The cache; cheap to share behind `&`.
#[derive(Debug, Clone)]
pub struct VerdictCache {
    inner: Cache<TokenHash, Verdict>,
}

impl VerdictCache {
    /// At most `max_entries` verdicts; users kept `positive_ttl`, refusals `negative_ttl`.
    pub fn new(max_entries: u64, positive_ttl: Duration, negative_ttl: Duration) -> Self {
        let expiry = VerdictExpiry {
            positive: positive_ttl,
            negative: negative_ttl,
        };
        let inner = Cache::builder()
            .name("kbatch-proxy-tokens")
            .max_capacity(max_entries)
            .expire_after(expiry)
            .build();
        VerdictCache { inner }
    }

    /// The cached verdict for `key`, or the result of `load`.
    ///
    /// Of concurrent calls for a missing key only one runs its `load`; the others wait
    /// and get its verdict, or its error. An error is not stored, so the next call loads
    /// again.
    pub async fn get_or_load<F>(&self, key: TokenHash, load: F) -> Result<Verdict, AuthError>
    where
        F: Future<Output = Result<Verdict, AuthError>>,
    {
        self.inner
            .try_get_with(key, load)
            .await
            .map_err(|shared| (*shared).clone())
    }

    /// Number of cached verdicts (after pending maintenance), for metrics and tests.
    pub async fn entry_count(&self) -> u64 {
        self.inner.run_pending_tasks().await;
        self.inner.entry_count()
    }
}

#[cfg(test)]
mod tests;
