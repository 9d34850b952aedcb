//! Per-principal quotas, so one delegation cannot crowd out the others.
//! Each open subscription holds a [`Slot`] of its principal; a principal at
//! its limit gets RESOURCE_EXHAUSTED instead of another stream, so it cannot
//! make the hub hold an unbounded number of cursors (each bounded in memory
//! on its own). Established connections hold a slot of their certificate the
//! same way. Publishes and reads draw from two per-principal token buckets
//! ([`RateLimits`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Every per-principal quota of a running service.
#[derive(Debug)]
pub(super) struct Quotas {
    /// Concurrent Subscribe streams.
    pub streams: Arc<Slots>,
    /// Publishes in flight (received, not yet answered): bounds one
    /// principal's share of the verifier's and the writer's queues.
    pub in_flight: Arc<Slots>,
    /// Publish calls.
    pub publishes: RateLimits,
    /// Publish envelope bytes: what the ledger, every recipient and the
    /// auditor pay for, and what can never be pruned.
    pub publish_bytes: RateLimits,
    /// Read calls: Subscribe (opening it), GetEntry, GetCheckpoint, proofs,
    /// WhoAmI.
    pub reads: RateLimits,
}

/// Token buckets per principal: `rate` tokens per second, at most `burst`.
#[derive(Debug)]
pub(super) struct RateLimits {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimits {
    /// `rate` requests per second per principal, bursts up to `burst`.
    pub(super) fn new(rate: f64, burst: f64) -> Self {
        RateLimits {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `who`; `Err(seconds to wait)` when empty.
    pub(super) fn take(&self, who: &str) -> Result<(), f64> {
        self.take_n(who, 1.0)
    }

    /// Takes `n` tokens for `who` (at most the burst: a request larger than
    /// the burst waits for a full bucket); `Err(seconds to wait)` when they
    /// are not all there. Nothing is taken on refusal.
    pub(super) fn take_n(&self, who: &str, n: f64) -> Result<(), f64> {
        let n = n.min(self.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(who.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= n {
            *tokens -= n;
            return Ok(());
        }
        Err((n - *tokens) / self.rate.max(f64::MIN_POSITIVE))
    }
}

/// Counts of things held open per key (streams per principal, connections
/// per certificate).
#[derive(Debug)]
pub(super) struct Slots {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One held slot; released when dropped.
#[derive(Debug)]
pub(super) struct Slot {
    limits: Arc<Slots>,
    who: String,
}

impl Slots {
    /// At most `max` slots held at once per key.
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `who`, or `None` when it already holds `max`.
    pub(super) fn acquire(self: &Arc<Self>, who: &str) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(who.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            limits: self.clone(),
            who: who.to_owned(),
        })
    }

    /// The limit.
    pub(super) fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.who) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_are_per_principal() {
        let r = RateLimits::new(1000.0, 3.0);
        for _ in 0..3 {
            r.take("CO").expect("burst");
        }
        let wait = r.take("CO").expect_err("empty");
        assert!(wait > 0.0 && wait <= 0.001 + 1e-9, "{wait}");
        r.take("PA").expect("others have their own bucket");
        let bytes = RateLimits::new(1000.0, 5000.0);
        bytes.take_n("CO", 4000.0).expect("within the burst");
        let wait = bytes.take_n("CO", 2000.0).expect_err("1000 left");
        assert!((wait - 1.0).abs() < 0.01, "1000 more bytes at 1000/s: {wait}");
        bytes.take_n("CO", 900.0).expect("a refusal took nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
        r.take("CO").expect("refilled");
    }

    #[test]
    fn permits_are_counted_per_principal_and_released_on_drop() {
        let l = Slots::new(2);
        let a = l.acquire("PA").expect("1");
        let _b = l.acquire("PA").expect("2");
        assert!(l.acquire("PA").is_none());
        assert!(l.acquire("CO").is_some(), "others are unaffected");
        drop(a);
        assert!(l.acquire("PA").is_some());
        drop(_b);
        assert!(
            !l.open.lock().expect("lock").contains_key("CO"),
            "keys with nothing held are forgotten"
        );
    }
}
