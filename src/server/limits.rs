//! Per-principal quotas. Each open subscription holds a [`StreamPermit`];
//! a principal at its limit gets RESOURCE_EXHAUSTED instead of another
//! stream, so one delegation cannot make the hub hold an unbounded number
//! of cursors (each bounded in memory on its own).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open-stream counts per principal.
#[derive(Debug)]
pub struct StreamLimits {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; released when dropped.
#[derive(Debug)]
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    who: String,
}

impl StreamLimits {
    /// At most `max` concurrent streams per principal.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(StreamLimits {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A permit for `who`, or `None` when it already has `max` streams.
    pub fn acquire(self: &Arc<Self>, who: &str) -> Option<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(who.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(StreamPermit {
            limits: self.clone(),
            who: who.to_owned(),
        })
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.who) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_per_principal_and_released_on_drop() {
        let l = StreamLimits::new(2);
        let a = l.acquire("PA").expect("1");
        let _b = l.acquire("PA").expect("2");
        assert!(l.acquire("PA").is_none());
        assert!(l.acquire("CO").is_some(), "others are unaffected");
        drop(a);
        assert!(l.acquire("PA").is_some());
    }
}
