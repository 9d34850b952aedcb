//! The most recent durable entries, kept in memory so that subscribers
//! following the head of the ledger (the common case) read them without a
//! storage read or a blocking-thread hop. Bounded by bytes and count; a
//! reader further behind falls back to the store. Filled by the writer after
//! each commit and before the durable size advances, so anything a reader
//! can see as durable is either here or on disk.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

/// Most bytes of entries kept.
const MAX_BYTES: usize = 8 << 20;
/// Most entries kept.
const MAX_ENTRIES: usize = 16_384;

/// A shared, bounded window onto the ledger's head.
#[derive(Default)]
pub(super) struct Tail {
    inner: RwLock<Window>,
}

#[derive(Default)]
struct Window {
    start: u64,
    entries: VecDeque<Arc<[u8]>>,
    bytes: usize,
}

impl Tail {
    /// An empty window whose next entry is `next`.
    pub(super) fn new(next: u64) -> Self {
        Tail {
            inner: RwLock::new(Window {
                start: next,
                ..Window::default()
            }),
        }
    }

    /// Appends committed entries, which must follow the window's last one.
    pub(super) fn extend(&self, first: u64, entries: Vec<Arc<[u8]>>) {
        let mut w = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if first != w.start + w.entries.len() as u64 {
            *w = Window {
                start: first,
                ..Window::default()
            };
        }
        for e in entries {
            w.bytes += e.len();
            w.entries.push_back(e);
        }
        while w.bytes > MAX_BYTES || w.entries.len() > MAX_ENTRIES {
            if let Some(old) = w.entries.pop_front() {
                w.bytes -= old.len();
                w.start += 1;
            }
        }
    }

    /// Entries `[from, to)` if the window still holds `from`.
    pub(super) fn get(&self, from: u64, to: u64) -> Option<Vec<(u64, Arc<[u8]>)>> {
        let w = self.inner.read().unwrap_or_else(|p| p.into_inner());
        if from < w.start {
            return None;
        }
        let skip = (from - w.start) as usize;
        let take = to.saturating_sub(from) as usize;
        Some(
            w.entries
                .iter()
                .skip(skip)
                .take(take)
                .enumerate()
                .map(|(i, e)| (from + i as u64, e.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize, len: usize) -> Vec<Arc<[u8]>> {
        (0..n).map(|i| Arc::from(vec![i as u8; len])).collect()
    }

    #[test]
    fn serves_the_head_and_forgets_the_old() {
        let t = Tail::new(10);
        t.extend(10, entries(5, 4));
        let got = t.get(12, 20).expect("in window");
        assert_eq!(got.iter().map(|e| e.0).collect::<Vec<_>>(), [12, 13, 14]);
        assert!(t.get(9, 12).is_none(), "before the window");
        t.extend(15, entries(MAX_ENTRIES, 1));
        assert!(t.get(10, 11).is_none(), "evicted by count");
        assert_eq!(t.get(15 + MAX_ENTRIES as u64 - 1, u64::MAX).expect("head").len(), 1);
    }

    #[test]
    fn is_bounded_by_bytes() {
        let t = Tail::new(0);
        t.extend(0, entries(20, 1 << 20));
        assert!(t.get(0, 1).is_none());
        assert_eq!(t.get(12, 20).expect("last 8 MiB").len(), 8);
    }
}
