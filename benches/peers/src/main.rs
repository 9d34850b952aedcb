//! `nats-bench`: isthmus-bench's workload shape against NATS JetStream.
//! Starts its own `nats-server` on 127.0.0.1 (mutual TLS, JetStream file
//! store with `sync_interval: always`) and measures it; every run is
//! bounded in time and count. See README.md beside Cargo.toml.

mod bench;
mod certs;
mod server;

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Load generator for NATS JetStream (loopback only, bounded in time and count).
#[derive(Debug, Parser)]
#[command(name = "nats-bench", version)]
struct Args {
    /// The nats-server executable (2.10 or later).
    #[arg(long, env = "NATS_SERVER")]
    nats_server: PathBuf,
    /// Publishing connections.
    #[arg(long, default_value_t = 20, value_parser = at_least_one())]
    publishers: usize,
    /// JetStream publishes awaiting their PubAck, per publisher.
    #[arg(long, default_value_t = 64, value_parser = at_least_one())]
    inflight: usize,
    /// Subscribers that read every message (one connection and consumer each).
    #[arg(long, default_value_t = 20)]
    subscribers: usize,
    /// Publishing phase length, seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Most messages to publish.
    #[arg(long, default_value_t = 100_000)]
    max_alerts: usize,
    /// Offered load, messages/s in total (open loop); default: closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Payload size in bytes (about an Isthmus alert envelope of
    /// isthmus-bench's default shape; at least 8).
    #[arg(long, default_value_t = 1200)]
    message_bytes: usize,
    /// Seconds subscribers may take to catch up after publishing ends.
    #[arg(long, default_value_t = 60.0)]
    drain_seconds: f64,
    /// Seconds one publish may wait for its PubAck.
    #[arg(long, default_value_t = 10.0)]
    ack_timeout_seconds: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A count that must be at least 1.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// A duration in seconds that must be finite and not negative.
fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| anyhow::anyhow!("--{name} must be a number of seconds ≥ 0, not {s}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if a.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        anyhow::bail!("--rate must be a positive number of messages/s");
    }
    let opts = bench::Options {
        nats_server: a.nats_server,
        publishers: a.publishers,
        inflight: a.inflight,
        subscribers: a.subscribers,
        duration: seconds("seconds", a.seconds)?,
        max_alerts: a.max_alerts,
        rate: a.rate,
        message_bytes: a.message_bytes.max(8),
        drain: seconds("drain-seconds", a.drain_seconds)?,
        ack_timeout: seconds("ack-timeout-seconds", a.ack_timeout_seconds)?,
    };
    // On SIGINT/SIGTERM the run is dropped, which kills nats-server.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let r = tokio::select! {
        r = bench::run(&opts) => r?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
        _ = term.recv() => anyhow::bail!("terminated"),
    };
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "nats-server                   {:>10}  (JetStream file store R1, sync_interval: always)",
        r.nats_server_version
    );
    println!("consumers                     {}", r.consumer);
    println!(
        "durable publishes             {:>10.0} /s  ({} acked; {} failed)",
        r.publishes_per_s, r.published, r.publish_errors
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
    if r.consumer_errors > 0 {
        println!("consumer errors (recovered)   {:>10}", r.consumer_errors);
    }
    println!(
        "server CPU per call           {:>8.1} us publish",
        r.server_cpu_us_per_publish
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
