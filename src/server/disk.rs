//! The free-disk floor. A ledger can never be pruned, and a commit that
//! fails on a full disk stops the hub until it is restarted; so below a
//! configured number of free bytes on the ledger's file system the hub
//! refuses new publishes (RESOURCE_EXHAUSTED, which gRPC defines for "the
//! entire file system is out of space") and reports NOT_SERVING, while
//! reads go on. Publishing resumes by itself once space is freed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one reading of the free space is trusted.
const FRESH: Duration = Duration::from_millis(250);

/// Free space on the ledger's file system, against a floor.
#[derive(Debug)]
pub(super) struct DiskFloor {
    dir: PathBuf,
    floor: u64,
    last: Mutex<Option<(Instant, u64)>>,
}

impl DiskFloor {
    /// Watches the file system holding `dir`; `floor` bytes must stay free.
    pub(super) fn new(dir: &Path, floor: u64) -> Self {
        DiskFloor {
            dir: dir.to_owned(),
            floor,
            last: Mutex::new(None),
        }
    }

    /// `Err(free bytes)` when fewer than the floor are free (or the space
    /// cannot be read, which counts as none).
    pub(super) fn check(&self) -> Result<(), u64> {
        let free = self.free();
        match free >= self.floor {
            true => Ok(()),
            false => Err(free),
        }
    }

    /// The floor, in bytes.
    pub(super) fn floor(&self) -> u64 {
        self.floor
    }

    /// Free bytes available to the hub, read at most every [`FRESH`].
    fn free(&self) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, free)) = *last {
            if at.elapsed() < FRESH {
                return free;
            }
        }
        let free = match rustix::fs::statvfs(&self.dir) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            Err(e) => {
                tracing::error!(error = %e, dir = %self.dir.display(), "cannot read the free disk space");
                0
            }
        };
        *last = Some((Instant::now(), free));
        free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_disk_refuses_and_zero_never_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(DiskFloor::new(dir.path(), 0).check(), Ok(()));
        let free = DiskFloor::new(dir.path(), u64::MAX)
            .check()
            .expect_err("no disk is that big");
        assert!(free > 0, "a real file system has some free space");
    }
}
