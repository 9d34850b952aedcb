//! The load generator behind `isthmus-bench`: starts a real `isthmusd`
//! process on 127.0.0.1, then, over mutual TLS from the same machine,
//!
//! 1. measures the bare unary call rate (`WhoAmI`) at the same concurrency,
//! 2. runs N publishers × K calls in flight with pre-signed alerts addressed
//!    to `ALL`, while M subscribers follow the ledger (and S stalled ones
//!    never read, or read only after `stall_resume` and must then catch up),
//! 3. reports durable publishes/s (and its ratio to the unary rate),
//!    publish latency, publish→delivered-to-all latency, entries lost or
//!    duplicated, and the server's RSS: peak, end, and once a second.
//!
//! Every loop is bounded by both a count and a deadline.

mod daemon;
pub mod process;
pub mod stats;

use crate::client::{self, Client};
use crate::devcerts::{DevFederation, DELEGATIONS};
use crate::pb;
use anyhow::Context;
pub use daemon::sibling_isthmusd;
use daemon::Daemon;
use stats::Samples;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `isthmusd` executable.
    pub isthmusd: PathBuf,
    /// Publishing connections (one delegation each).
    pub publishers: usize,
    /// Calls in flight per publisher.
    pub inflight: usize,
    /// Subscribers reading every alert.
    pub subscribers: usize,
    /// Subscribers that open a stream and never read it.
    pub stalled: usize,
    /// When set, the stalled subscribers start reading after this long and
    /// must then receive every alert exactly once.
    pub stall_resume: Option<Duration>,
    /// Publishing time limit.
    pub duration: Duration,
    /// Publishing count limit (alerts are pre-signed up to this many).
    pub max_alerts: usize,
    /// Offered load in alerts/s (open loop); `None` = as fast as acks allow.
    pub rate: Option<f64>,
    /// Summary length of each alert, in bytes.
    pub summary_bytes: usize,
    /// Length of the unary-call baseline phase.
    pub unary_duration: Duration,
    /// How long subscribers may take, after publishing ends, to catch up.
    pub drain: Duration,
}

/// What was measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Bare mTLS `WhoAmI` calls per second, same concurrency.
    pub unary_calls_per_s: f64,
    /// Publishes acknowledged (durable).
    pub published: usize,
    /// Durable publishes per second.
    pub publishes_per_s: f64,
    /// `publishes_per_s / unary_calls_per_s`.
    pub ratio_to_unary: f64,
    /// Publish latency p50 / p99 / p999, ms.
    pub publish_ms: [f64; 3],
    /// Publish → delivered to all subscribers, p50 / p99, ms.
    pub delivered_to_all_ms: [f64; 2],
    /// (index, subscriber) deliveries still missing when the drain period
    /// ended: lost, or a subscriber still too far behind (raise
    /// `--drain-seconds` to tell which).
    pub lost: usize,
    /// Deliveries received more than once.
    pub duplicated: usize,
    /// The same two counts for the stalled subscribers once they resumed
    /// (zero when they never resume).
    pub stalled_lost_duplicated: [usize; 2],
    /// Server RSS in MiB, sampled once a second from the start of publishing
    /// until every subscriber is done.
    pub server_rss_mib_each_second: Vec<f64>,
    /// Server CPU time per unary call, µs (user + system, from /proc).
    pub server_cpu_us_per_unary: f64,
    /// Server CPU time per durable publish, µs (includes fan-out to subscribers).
    pub server_cpu_us_per_publish: f64,
    /// Server peak RSS (VmHWM), MiB.
    pub server_peak_rss_mib: f64,
    /// Server RSS at the end, MiB.
    pub server_rss_end_mib: f64,
}

/// Runs the benchmark.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let fed = Arc::new(DevFederation::generate(2)?);
    let daemon = Daemon::start(&opts.isthmusd, &fed, dir.path())?;
    let server = daemon.addr.to_string();
    let pubs = connect_many(&server, &fed, opts.publishers, 0).await?;
    let cpu0 = daemon.cpu_time().unwrap_or_default();
    let (unary, calls) = unary_rate(&pubs, opts.inflight, opts.unary_duration).await;
    let cpu_unary = daemon.cpu_time().unwrap_or_default().saturating_sub(cpu0);
    let envelopes = presign(&fed, opts);
    let Some(first) = pubs.first() else {
        anyhow::bail!("the bench needs at least one publisher and one call in flight")
    };
    let start = first
        .clone()
        .who_am_i(pb::WhoAmIRequest {})
        .await?
        .into_inner()
        .ledger_size;
    let (stop_tx, stop) = watch::channel(u64::MAX);
    let live = Readers {
        count: opts.subscribers,
        offset: opts.publishers,
        delay: Duration::ZERO,
    };
    let subs = spawn_subscribers(&server, &fed, live, opts.drain, start, stop.clone()).await?;
    let (_stalled, resuming) = match opts.stall_resume {
        None => (open_stalled(&server, &fed, opts.stalled, start).await?, Vec::new()),
        Some(delay) => {
            let stalled = Readers {
                count: opts.stalled,
                offset: 7,
                delay,
            };
            let drain = opts.drain + delay;
            (
                Vec::new(),
                spawn_subscribers(&server, &fed, stalled, drain, start, stop).await?,
            )
        }
    };
    let rss = process::RssSampler::start(daemon.pid());
    let (t0, cpu1) = (Instant::now(), daemon.cpu_time().unwrap_or_default());
    let acks = publish_all(pubs, envelopes, opts, t0).await;
    let elapsed = acks.iter().map(|a| a.2).max().map_or(Duration::ZERO, |t| t - t0);
    stop_tx.send_replace(acks.iter().map(|a| a.0).max().unwrap_or(0));
    let mut received = Vec::new();
    for s in subs {
        received.push(s.await.context("subscriber task")?);
    }
    let mut resumed = Vec::new();
    for s in resuming {
        resumed.push(s.await.context("resumed subscriber task")?);
    }
    rss.abort();
    let cpu_publish = daemon.cpu_time().unwrap_or_default().saturating_sub(cpu1);
    let memory = daemon.memory_kib().unwrap_or((0, 0));
    let mut report = summarise(unary, &acks, &received, elapsed, memory);
    let (lost, dup) = gaps(&acks, &resumed);
    report.stalled_lost_duplicated = [lost, dup];
    report.server_rss_mib_each_second = rss.samples();
    report.server_cpu_us_per_unary = cpu_unary.as_secs_f64() * 1e6 / calls.max(1) as f64;
    report.server_cpu_us_per_publish = cpu_publish.as_secs_f64() * 1e6 / acks.len().max(1) as f64;
    Ok(report)
}

/// The `i`-th delegation, round robin.
fn delegation(i: usize) -> &'static str {
    DELEGATIONS.get(i % DELEGATIONS.len()).map_or("CO", |d| d.0)
}

async fn connect_many(server: &str, fed: &DevFederation, n: usize, offset: usize) -> anyhow::Result<Vec<Client>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = delegation(i + offset);
        let p = fed
            .principals
            .iter()
            .find(|p| p.member.id.as_str() == id)
            .context("delegation")?;
        let tls = crate::tls::TlsFiles::from_pem(&fed.ca.cert_pem(), &p.tls.cert_pem, &p.tls.key_pem)?;
        out.push(client::connect(server, &tls).await?);
    }
    Ok(out)
}

/// Bare unary calls per second with `inflight` calls per connection, and
/// how many were made.
async fn unary_rate(clients: &[Client], inflight: usize, limit: Duration) -> (f64, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + limit;
    let mut tasks = Vec::new();
    for c in clients {
        for _ in 0..inflight {
            let (mut c, count) = (c.clone(), count.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    if c.who_am_i(pb::WhoAmIRequest {}).await.is_ok() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    let t0 = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let n = count.load(Ordering::Relaxed);
    (n as f64 / t0.elapsed().as_secs_f64().max(1e-9), n)
}

/// Signs every alert before the clock starts, on all cores.
fn presign(fed: &DevFederation, opts: &Options) -> Vec<Vec<pb::Envelope>> {
    let per = opts.max_alerts.div_ceil(opts.publishers.max(1));
    let summary = "x".repeat(opts.summary_bytes);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..opts.publishers)
            .map(|p| {
                let (id, summary) = (delegation(p), &summary);
                s.spawn(move || {
                    (0..per)
                        .map(|k| signed_alert(fed, id, p, k, summary))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn signed_alert(fed: &DevFederation, id: &str, p: usize, k: usize, summary: &str) -> pb::Envelope {
    let key = fed
        .principals
        .iter()
        .find(|x| x.member.id.as_str() == id)
        .and_then(|x| x.signing.as_ref());
    let alert = pb::Alert {
        id: format!("bench-{p}-{k}"),
        publisher: id.into(),
        created: Some(crate::time::unix_to_pb(crate::time::unix_now())),
        language: "es".into(),
        tlp: pb::Tlp::Amber as i32,
        recipients: vec!["ALL".into()],
        evaluation: Some(pb::Evaluation {
            source_reliability: 2,
            information_credibility: 2,
        }),
        category: pb::Category::MigrantSmuggling as i32,
        title: format!("load alert {p}-{k}"),
        summary: summary.to_owned(),
        ..Default::default()
    };
    match key {
        Some(k) => crate::envelope::sign(&alert, k),
        None => pb::Envelope::default(),
    }
}

type Received = Vec<(u64, Instant)>;

/// A group of subscribers: how many, which delegations (by offset into the
/// list), and how long they wait before reading their open stream.
struct Readers {
    count: usize,
    offset: usize,
    delay: Duration,
}

/// Subscribers read from `start` until they have seen the index sent on
/// `stop` (or the drain period after it is sent).
async fn spawn_subscribers(
    server: &str,
    fed: &DevFederation,
    readers: Readers,
    drain: Duration,
    start: u64,
    stop: watch::Receiver<u64>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Received>>> {
    let clients = connect_many(server, fed, readers.count, readers.offset).await?;
    let mut tasks = Vec::new();
    let delay = readers.delay;
    for mut c in clients {
        let mut stop = stop.clone();
        let mut stream = c
            .subscribe(pb::SubscribeRequest {
                from_index: start,
                filter: None,
                ..Default::default()
            })
            .await?
            .into_inner();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut got = Vec::new();
            let mut grace: Option<tokio::time::Instant> = None;
            loop {
                let last = *stop.borrow();
                if got.last().is_some_and(|&(i, _)| i >= last) {
                    return got;
                }
                if last != u64::MAX && grace.is_none() {
                    grace = Some(tokio::time::Instant::now() + drain);
                }
                let limit = grace.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    m = tokio::time::timeout_at(limit, stream.message()) => match m {
                        Ok(Ok(Some(e))) => got.push((e.index, Instant::now())),
                        _ => return got,
                    },
                    _ = stop.changed() => {}
                }
            }
        }));
    }
    Ok(tasks)
}

async fn open_stalled(
    server: &str,
    fed: &DevFederation,
    n: usize,
    start: u64,
) -> anyhow::Result<Vec<tonic::Streaming<pb::LedgerEntry>>> {
    let mut out = Vec::new();
    for mut c in connect_many(server, fed, n, 7).await? {
        out.push(
            c.subscribe(pb::SubscribeRequest {
                from_index: start,
                filter: None,
                ..Default::default()
            })
            .await?
            .into_inner(),
        );
    }
    Ok(out)
}

/// (index, start, acknowledged) for every acknowledged publish.
type Ack = (u64, Instant, Instant);

async fn publish_all(pubs: Vec<Client>, envelopes: Vec<Vec<pb::Envelope>>, opts: &Options, t0: Instant) -> Vec<Ack> {
    let deadline = t0 + opts.duration;
    let interval = opts.rate.map(|r| Duration::from_secs_f64(opts.publishers as f64 / r));
    let mut tasks = Vec::new();
    for (p, (c, envs)) in pubs.into_iter().zip(envelopes).enumerate() {
        // Publisher p's schedule is shifted by p / publishers of an interval,
        // so the total offered load is evenly spaced at `rate` rather than
        // bursts of one publish from every publisher at once.
        let phase = interval.map_or(Duration::ZERO, |iv| iv.mul_f64(p as f64 / opts.publishers as f64));
        let (envs, next) = (Arc::new(envs), Arc::new(AtomicU64::new(0)));
        for _ in 0..opts.inflight {
            let (mut c, envs, next) = (c.clone(), envs.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut acks = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(env) = envs.get(k) else { return acks };
                    let start = match interval {
                        Some(iv) => t0 + phase + iv * k as u32,
                        None => Instant::now(),
                    };
                    if start >= deadline {
                        return acks;
                    }
                    tokio::time::sleep_until(start.into()).await;
                    if let Ok(r) = c.publish(env.clone()).await {
                        acks.push((r.into_inner().index, start, Instant::now()));
                    }
                }
            }));
        }
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

/// Deliveries of acknowledged entries missing from, and repeated in, what
/// each subscriber received (entries arrive in index order).
fn gaps(acks: &[Ack], received: &[Received]) -> (usize, usize) {
    let mut lost = 0;
    let mut duplicated = 0;
    for sub in received {
        let mut seen = std::collections::HashSet::with_capacity(sub.len());
        let mut prev: Option<u64> = None;
        for &(i, _) in sub {
            if prev.is_some_and(|p| i <= p) {
                duplicated += 1;
            }
            prev = Some(i);
            seen.insert(i);
        }
        lost += acks.iter().filter(|a| !seen.contains(&a.0)).count();
    }
    (lost, duplicated)
}

fn summarise(unary: f64, acks: &[Ack], received: &[Received], elapsed: Duration, mem: (u64, u64)) -> Report {
    let publish = Samples::new(acks.iter().map(|a| a.2 - a.1).collect());
    let starts: HashMap<u64, Instant> = acks.iter().map(|a| (a.0, a.1)).collect();
    let mut last_delivery: HashMap<u64, (Instant, usize)> = HashMap::new();
    for sub in received {
        let mut prev: Option<u64> = None;
        for &(i, at) in sub {
            if prev.is_some_and(|p| i <= p) {
                continue;
            }
            prev = Some(i);
            let e = last_delivery.entry(i).or_insert((at, 0));
            e.0 = e.0.max(at);
            e.1 += 1;
        }
    }
    let (lost, duplicated) = gaps(acks, received);
    let delivered = Samples::new(
        starts
            .iter()
            .filter_map(|(i, s)| last_delivery.get(i).filter(|d| d.1 == received.len()).map(|d| d.0 - *s))
            .collect(),
    );
    let rate = acks.len() as f64 / elapsed.as_secs_f64().max(1e-9);
    Report {
        unary_calls_per_s: unary,
        published: acks.len(),
        publishes_per_s: rate,
        ratio_to_unary: rate / unary.max(1e-9),
        publish_ms: [publish.ms(0.5), publish.ms(0.99), publish.ms(0.999)],
        delivered_to_all_ms: [delivered.ms(0.5), delivered.ms(0.99)],
        lost,
        duplicated,
        server_cpu_us_per_unary: 0.0,
        server_cpu_us_per_publish: 0.0,
        server_peak_rss_mib: mem.0 as f64 / 1024.0,
        server_rss_end_mib: mem.1 as f64 / 1024.0,
        stalled_lost_duplicated: [0, 0],
        server_rss_mib_each_second: Vec::new(),
    }
}
