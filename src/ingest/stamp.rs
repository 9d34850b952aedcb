//! What the hub adds to a submission when it accepts it, fresh or as
//! recorded: the acceptance time and the salt.

use crate::pb;

/// Bytes of random salt in each accepted submission.
pub const SALT_BYTES: usize = 16;

/// What the hub adds to a submission when it accepts it: its clock (Unix
/// seconds) and a random salt that makes the entry's leaf hash
/// unpredictable to anyone who has not received the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The hub's clock.
    pub now: i64,
    /// The entry's salt.
    pub salt: [u8; SALT_BYTES],
}

impl Stamp {
    /// A stamp for a new entry: `now` and a fresh salt from the OS.
    pub fn fresh(now: i64) -> Self {
        let mut salt = [0u8; SALT_BYTES];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        Stamp { now, salt }
    }
}

/// A stamp as stored, whatever its salt's length (entries written before
/// salts have none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedStamp {
    /// The acceptance time.
    pub now: i64,
    /// The salt as stored.
    pub salt: Vec<u8>,
}

impl RecordedStamp {
    /// The stamp a stored submission records, for re-running the checks
    /// (`None` when it lacks the acceptance time).
    pub fn of(s: &pb::Submission) -> Option<Self> {
        let now = s.accepted.as_ref()?.seconds;
        Some(RecordedStamp {
            now,
            salt: s.salt.clone(),
        })
    }
}

/// The two forms of stamp [`check_content`] takes: a fresh one, or one as
/// recorded in a stored entry.
pub trait AsStamp {
    /// The acceptance time.
    fn now(&self) -> i64;
    /// The salt.
    fn salt(&self) -> &[u8];
}

impl AsStamp for Stamp {
    fn now(&self) -> i64 {
        self.now
    }
    fn salt(&self) -> &[u8] {
        &self.salt
    }
}

impl AsStamp for RecordedStamp {
    fn now(&self) -> i64 {
        self.now
    }
    fn salt(&self) -> &[u8] {
        &self.salt
    }
}
