//! `isthmus-bench`: the load generator (see `isthmus::bench`). Starts its
//! own `isthmusd` on 127.0.0.1 and measures it; every run is bounded.

/// mimalloc: the hub's allocation pattern (many short-lived buffers across
/// threads) spent ~17% of its CPU in glibc malloc under load (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::time::Duration;

/// Load generator for isthmusd (loopback only, bounded in time and count).
#[derive(Debug, Parser)]
#[command(name = "isthmus-bench", version)]
struct Args {
    /// Publishing connections (one delegation each).
    #[arg(long, default_value_t = 20, value_parser = at_least_one())]
    publishers: usize,
    /// Publish calls in flight per publisher.
    #[arg(long, default_value_t = 64, value_parser = at_least_one())]
    inflight: usize,
    /// Subscribers that read every alert.
    #[arg(long, default_value_t = 20)]
    subscribers: usize,
    /// Subscribers that never read.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Stalled subscribers start reading after this many seconds and must
    /// then catch up with no gap (default: they never read).
    #[arg(long)]
    stall_resume_seconds: Option<f64>,
    /// Publishing phase length, seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Most alerts to publish (pre-signed before the clock starts).
    #[arg(long, default_value_t = 100_000)]
    max_alerts: usize,
    /// Offered load, alerts/s in total (open loop); default: closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Alert summary size in bytes.
    #[arg(long, default_value_t = 600)]
    summary_bytes: usize,
    /// Unary baseline phase length, seconds.
    #[arg(long, default_value_t = 5.0)]
    unary_seconds: f64,
    /// Seconds subscribers may take to catch up after publishing ends.
    #[arg(long, default_value_t = 60.0)]
    drain_seconds: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A count that must be at least 1.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let opts = isthmus::bench::Options {
        isthmusd: isthmus::bench::sibling_isthmusd()?,
        publishers: a.publishers,
        inflight: a.inflight,
        subscribers: a.subscribers,
        stalled: a.stalled,
        stall_resume: a.stall_resume_seconds.map(Duration::from_secs_f64),
        duration: Duration::from_secs_f64(a.seconds),
        max_alerts: a.max_alerts,
        rate: a.rate,
        summary_bytes: a.summary_bytes,
        unary_duration: Duration::from_secs_f64(a.unary_seconds),
        drain: Duration::from_secs_f64(a.drain_seconds),
    };
    let r = isthmus::bench::run(&opts).await?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!("bare mTLS unary (WhoAmI)      {:>10.0} calls/s", r.unary_calls_per_s);
    println!(
        "durable publishes             {:>10.0} /s  ({} acked; {:.2} x unary)",
        r.publishes_per_s, r.published, r.ratio_to_unary
    );
    println!(
        "publish latency p50/p99/p999  {:>8.2} / {:.2} / {:.2} ms",
        r.publish_ms[0], r.publish_ms[1], r.publish_ms[2]
    );
    println!(
        "delivered to all p50/p99      {:>8.2} / {:.2} ms",
        r.delivered_to_all_ms[0], r.delivered_to_all_ms[1]
    );
    println!("lost (undelivered) / dup.     {:>10} / {}", r.lost, r.duplicated);
    if let Some(s) = a.stall_resume_seconds {
        let [lost, dup] = r.stalled_lost_duplicated;
        println!("stalled {s} s, then: lost/dup. {lost:>10} / {dup}");
    }
    println!(
        "server CPU per call           {:>8.1} us unary, {:.1} us publish",
        r.server_cpu_us_per_unary, r.server_cpu_us_per_publish
    );
    println!(
        "server RSS peak / end         {:>8.1} / {:.1} MiB",
        r.server_peak_rss_mib, r.server_rss_end_mib
    );
    let every_5s: Vec<String> = r
        .server_rss_mib_each_second
        .iter()
        .step_by(5)
        .map(|m| format!("{m:.0}"))
        .collect();
    println!("server RSS every 5 s (MiB)    {}", every_5s.join(" "));
    Ok(())
}
