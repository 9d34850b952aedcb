//! Latency summaries: exact percentiles over every recorded sample (a copy
//! of the root crate's src/bench/stats.rs, so both report the same way).

use std::time::Duration;

/// Sorted samples.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// From unsorted samples.
    pub fn new(mut v: Vec<Duration>) -> Self {
        v.sort_unstable();
        Samples(v)
    }

    /// The `q` quantile (0..=1) in milliseconds, nearest rank.
    pub fn ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0.get(rank - 1).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Samples::new((1..=1000).rev().map(Duration::from_millis).collect());
        assert_eq!(s.ms(0.5), 500.0);
        assert_eq!(s.ms(0.99), 990.0);
        assert_eq!(s.ms(0.999), 999.0);
        assert_eq!(s.ms(1.0), 1000.0);
        assert!(Samples::default().ms(0.5).is_nan());
    }
}
