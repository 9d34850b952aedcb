//! What a benchmark reads about the server process it drives, from /proc:
//! CPU time, peak and current RSS, and RSS sampled once a second. Shared by
//! `isthmus-bench` and the peer harness (benches/peers/), so that both
//! report the same quantities the same way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// CPU time (user + system, all threads) process `pid` has used so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / 100.0))
}

/// Peak and current resident set size in KiB (`VmHWM`, `VmRSS`) of `pid`.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// A process's RSS once a second, in the background (MiB, one decimal).
/// Stops by itself when the process is gone, or on [`RssSampler::abort`].
pub struct RssSampler {
    task: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<Vec<f64>>>,
}

impl RssSampler {
    /// Starts sampling `pid`; must be called within a tokio runtime.
    pub fn start(pid: u32) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let out = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some((_, rss)) = memory_kib(pid) else {
                    return;
                };
                if let Ok(mut v) = out.lock() {
                    v.push((rss as f64 / 1024.0 * 10.0).round() / 10.0);
                }
            }
        });
        RssSampler { task, samples }
    }

    /// Stops sampling.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// The samples so far.
    pub fn samples(&self) -> Vec<f64> {
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
