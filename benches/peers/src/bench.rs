//! The workload of `isthmus-bench` (src/bench/mod.rs in the root crate),
//! against NATS JetStream:
//!
//! 1. starts `nats-server` on 127.0.0.1 (mutual TLS, JetStream file store,
//!    `sync_interval: always`) and creates a file-storage stream, replicas 1;
//! 2. runs N publishers (one TLS connection each) × K JetStream publishes
//!    awaiting their PubAck (closed loop), or an offered rate (open loop,
//!    latency from the scheduled send time), while M subscribers (one TLS
//!    connection and one ordered push consumer each) read every message;
//! 3. reports acked publishes/s, ack latency, publish→delivered-to-all
//!    latency, deliveries lost or duplicated (by the sequence number each
//!    payload carries), and the server's CPU per publish and RSS.
//!
//! Every loop is bounded by both a count and a deadline.

use crate::certs::Authority;
use crate::server::{self, NatsServer};
use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use isthmus::bench::process::{memory_kib, RssSampler};
use isthmus::bench::stats::Samples;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The stream the run publishes to.
const STREAM: &str = "ALERTS";
/// The one subject it captures.
const SUBJECT: &str = "isthmus.alerts.all";
/// What the report calls the subscribers' consumers.
pub const CONSUMER_KIND: &str = "ordered push consumer (ephemeral, AckPolicy::None, flow control, deliver all)";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `nats-server` executable.
    pub nats_server: PathBuf,
    /// Publishing connections.
    pub publishers: usize,
    /// Publishes awaiting their PubAck, per publisher.
    pub inflight: usize,
    /// Subscribers reading every message (one connection and consumer each).
    pub subscribers: usize,
    /// Publishing time limit.
    pub duration: Duration,
    /// Publishing count limit.
    pub max_alerts: usize,
    /// Offered load in messages/s (open loop); `None` = as fast as acks allow.
    pub rate: Option<f64>,
    /// Payload size in bytes (at least 8: the sequence number).
    pub message_bytes: usize,
    /// How long subscribers may take, after publishing ends, to catch up.
    pub drain: Duration,
    /// How long one publish may wait for its PubAck.
    pub ack_timeout: Duration,
}

/// What was measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// `nats-server --version`.
    pub nats_server_version: String,
    /// How the subscribers consume.
    pub consumer: &'static str,
    /// Publishes acknowledged (stored; with `sync_interval: always`, on disk).
    pub published: usize,
    /// Publishes that failed or whose PubAck did not come in time.
    pub publish_errors: usize,
    /// Acked publishes per second.
    pub publishes_per_s: f64,
    /// Publish (ack) latency p50 / p99 / p999, ms.
    pub publish_ms: [f64; 3],
    /// Publish → received by the last of the subscribers, p50 / p99, ms.
    pub delivered_to_all_ms: [f64; 2],
    /// (acked message, subscriber) deliveries still missing when the drain
    /// period ended: lost, or a subscriber still too far behind.
    pub lost: usize,
    /// Deliveries received more than once.
    pub duplicated: usize,
    /// Errors the subscribers' ordered consumers reported (and recovered
    /// from by recreating the consumer), e.g. missed heartbeats.
    pub consumer_errors: usize,
    /// Server RSS in MiB, sampled once a second from the start of publishing
    /// until every subscriber is done.
    pub server_rss_mib_each_second: Vec<f64>,
    /// Server CPU time per acked publish, µs (user + system, from /proc;
    /// includes fan-out to the subscribers).
    pub server_cpu_us_per_publish: f64,
    /// Server peak RSS (VmHWM), MiB.
    pub server_peak_rss_mib: f64,
    /// Server RSS at the end, MiB.
    pub server_rss_end_mib: f64,
}

/// Runs the benchmark. The server is killed when this returns, also on error.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    if opts.publishers == 0 || opts.inflight == 0 {
        anyhow::bail!("the bench needs at least one publisher and one publish in flight");
    }
    let version = server::version(&opts.nats_server)?;
    let dir = tempfile::tempdir()?;
    let ca = Authority::generate()?;
    let files = ca.write_server(dir.path())?;
    let nats = NatsServer::start(&opts.nats_server, &files, dir.path())?;
    let url = format!("tls://{}", nats.addr);

    let admin = connect(&url, &ca, "admin").await?;
    jetstream::new(admin.clone())
        .create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECT.into()],
            storage: stream::StorageType::File,
            num_replicas: 1,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        })
        .await
        .context("creating the stream")?;

    let mut pubs = Vec::with_capacity(opts.publishers);
    for i in 0..opts.publishers {
        pubs.push(connect(&url, &ca, &format!("publisher-{i}")).await?);
    }
    let (stop_tx, stop) = watch::channel(u64::MAX);
    // Subscribers give up by themselves at the latest this long from now.
    let hard_limit =
        tokio::time::Instant::now() + opts.duration + opts.ack_timeout + opts.drain + Duration::from_secs(60);
    let subs = spawn_subscribers(&url, &ca, opts, stop, hard_limit).await?;

    let rss = RssSampler::start(nats.pid());
    let (t0, cpu1) = (Instant::now(), nats.cpu_time().unwrap_or_default());
    let (acks, publish_errors) = publish_all(pubs, opts, t0).await;
    let elapsed = acks.iter().map(|a| a.acked).max().map_or(Duration::ZERO, |t| t - t0);
    stop_tx.send_replace(acks.iter().map(|a| a.seq).max().unwrap_or(0));
    let mut received = Vec::new();
    for s in subs {
        received.push(s.await.context("subscriber task")?);
    }
    rss.abort();
    let cpu = nats.cpu_time().unwrap_or_default().saturating_sub(cpu1);
    let memory = memory_kib(nats.pid()).unwrap_or((0, 0));
    drop(admin);
    drop(nats);

    let per = opts.max_alerts.div_ceil(opts.publishers);
    let ids = per * opts.publishers;
    let tally = Tally::new(ids, &acks, &received);
    let publish = Samples::new(acks.iter().map(|a| a.acked - a.start).collect());
    Ok(Report {
        nats_server_version: version,
        consumer: CONSUMER_KIND,
        published: acks.len(),
        publish_errors,
        publishes_per_s: acks.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        publish_ms: [publish.ms(0.5), publish.ms(0.99), publish.ms(0.999)],
        delivered_to_all_ms: [tally.delivered.ms(0.5), tally.delivered.ms(0.99)],
        lost: tally.lost,
        duplicated: tally.duplicated,
        consumer_errors: received.iter().map(|r| r.errors).sum(),
        server_rss_mib_each_second: rss.samples(),
        server_cpu_us_per_publish: cpu.as_secs_f64() * 1e6 / acks.len().max(1) as f64,
        server_peak_rss_mib: memory.0 as f64 / 1024.0,
        server_rss_end_mib: memory.1 as f64 / 1024.0,
    })
}

/// A mutual-TLS connection with its own fresh client certificate.
async fn connect(url: &str, ca: &Authority, name: &str) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name(name)
        .require_tls(true)
        .tls_client_config(ca.client_config(name)?)
        .connection_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .with_context(|| format!("connecting {name} to {url}"))
}

/// What one subscriber received: (payload sequence number, when), in
/// arrival order, and how many errors its consumer reported.
#[derive(Debug, Default)]
pub struct Received {
    got: Vec<(u64, Instant)>,
    errors: usize,
}

/// Subscribers read until they have seen the stream sequence sent on `stop`
/// (the highest acked), the drain period after it is sent ends, or
/// `hard_limit`.
async fn spawn_subscribers(
    url: &str,
    ca: &Authority,
    opts: &Options,
    stop: watch::Receiver<u64>,
    hard_limit: tokio::time::Instant,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Received>>> {
    let mut tasks = Vec::with_capacity(opts.subscribers);
    for i in 0..opts.subscribers {
        let client = connect(url, ca, &format!("subscriber-{i}")).await?;
        let js = jetstream::new(client.clone());
        let stream = js.get_stream(STREAM).await.context("looking up the stream")?;
        let consumer = stream
            .create_consumer(consumer::push::OrderedConfig {
                deliver_subject: client.new_inbox(),
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .context("creating an ordered consumer")?;
        let mut messages = consumer.messages().await.context("subscribing")?;
        client.flush().await.context("flushing the subscription")?;
        let (mut stop, drain) = (stop.clone(), opts.drain);
        tasks.push(tokio::spawn(async move {
            let _client = client;
            let mut out = Received::default();
            let mut last_seq = 0u64;
            let mut grace: Option<tokio::time::Instant> = None;
            let mut closed = false;
            loop {
                let last = *stop.borrow();
                if last != u64::MAX && last_seq >= last {
                    return out;
                }
                if last != u64::MAX && grace.is_none() {
                    grace = Some(tokio::time::Instant::now() + drain);
                }
                if closed && last == u64::MAX {
                    return out;
                }
                let limit = grace.map_or(hard_limit, |g| g.min(hard_limit));
                tokio::select! {
                    m = tokio::time::timeout_at(limit, messages.next()) => match m {
                        Ok(Some(Ok(msg))) => {
                            let at = Instant::now();
                            if let Ok(info) = msg.info() {
                                last_seq = last_seq.max(info.stream_sequence);
                            }
                            match sequence_number(&msg.payload) {
                                Some(id) => out.got.push((id, at)),
                                None => out.errors += 1,
                            }
                        }
                        Ok(Some(Err(_))) => out.errors += 1,
                        _ => return out,
                    },
                    r = stop.changed(), if !closed => closed = r.is_err(),
                }
            }
        }));
    }
    Ok(tasks)
}

/// One acked publish: its payload sequence number, the stream sequence the
/// PubAck gave, when it was (scheduled to be) sent, and when it was acked.
#[derive(Debug, Clone, Copy)]
struct Ack {
    id: u64,
    seq: u64,
    start: Instant,
    acked: Instant,
}

/// The payload: the sequence number (u64, little-endian), then filler.
fn payload(template: &[u8], id: u64) -> Bytes {
    let mut b = BytesMut::from(template);
    if let Some(head) = b.get_mut(..8) {
        head.copy_from_slice(&id.to_le_bytes());
    }
    b.freeze()
}

fn sequence_number(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
}

/// Publisher `p` sends sequence numbers `p * per .. p * per + per`, with
/// `inflight` publishes awaiting their PubAck at a time.
async fn publish_all(pubs: Vec<async_nats::Client>, opts: &Options, t0: Instant) -> (Vec<Ack>, usize) {
    let deadline = t0 + opts.duration;
    let per = opts.max_alerts.div_ceil(opts.publishers) as u64;
    let spacing = opts.rate.map(|r| opts.publishers as f64 / r);
    let template: Arc<[u8]> = vec![b'x'; opts.message_bytes.max(8)].into();
    let mut tasks = Vec::new();
    for (p, client) in pubs.into_iter().enumerate() {
        let js = jetstream::ContextBuilder::new()
            .timeout(opts.ack_timeout)
            .max_ack_inflight(opts.inflight.max(1) * 2)
            .backpressure_on_inflight(true)
            .build(client);
        let next = Arc::new(AtomicU64::new(0));
        // Publisher p's schedule is shifted by p / publishers of a spacing, so
        // the total offered load is evenly spaced (as in isthmus-bench).
        let phase = spacing.map_or(0.0, |s| s * p as f64 / opts.publishers as f64);
        for _ in 0..opts.inflight {
            let (js, next, template) = (js.clone(), next.clone(), template.clone());
            tasks.push(tokio::spawn(async move {
                let (mut acks, mut errors) = (Vec::new(), 0usize);
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= per {
                        return (acks, errors);
                    }
                    let start = match spacing {
                        Some(s) => t0 + Duration::from_secs_f64(phase + s * k as f64),
                        None => Instant::now(),
                    };
                    if start >= deadline {
                        return (acks, errors);
                    }
                    tokio::time::sleep_until(start.into()).await;
                    let id = p as u64 * per + k;
                    let sent = js.publish(SUBJECT, payload(&template, id)).await;
                    match sent {
                        Ok(ack) => match ack.await {
                            Ok(a) => acks.push(Ack {
                                id,
                                seq: a.sequence,
                                start,
                                acked: Instant::now(),
                            }),
                            Err(_) => errors += 1,
                        },
                        Err(_) => errors += 1,
                    }
                }
            }));
        }
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((a, e)) = t.await {
            all.extend(a);
            errors += e;
        }
    }
    (all, errors)
}

/// Deliveries per (message, subscriber): what is missing, what came twice,
/// and publish → received-by-the-last-subscriber latency.
struct Tally {
    lost: usize,
    duplicated: usize,
    delivered: Samples,
}

impl Tally {
    fn new(ids: usize, acks: &[Ack], received: &[Received]) -> Tally {
        let (mut lost, mut duplicated) = (0, 0);
        let mut last: Vec<Option<Instant>> = vec![None; ids];
        let mut reached = vec![0usize; ids];
        for sub in received {
            let mut seen = vec![false; ids];
            for &(id, at) in &sub.got {
                let i = id as usize;
                match seen.get_mut(i) {
                    Some(true) => duplicated += 1,
                    Some(s) => {
                        *s = true;
                        if let (Some(l), Some(n)) = (last.get_mut(i), reached.get_mut(i)) {
                            *l = Some(l.map_or(at, |t| t.max(at)));
                            *n += 1;
                        }
                    }
                    // Not a sequence number this run sent.
                    None => duplicated += 1,
                }
            }
            lost += acks
                .iter()
                .filter(|a| !seen.get(a.id as usize).copied().unwrap_or(false))
                .count();
        }
        let delivered = Samples::new(
            acks.iter()
                .filter(|a| reached.get(a.id as usize) == Some(&received.len()))
                .filter_map(|a| {
                    last.get(a.id as usize)
                        .copied()
                        .flatten()
                        .map(|t| t.saturating_duration_since(a.start))
                })
                .collect(),
        );
        Tally {
            lost,
            duplicated,
            delivered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(id: u64, t: Instant) -> Ack {
        Ack {
            id,
            seq: id + 1,
            start: t,
            acked: t,
        }
    }

    #[test]
    fn payload_carries_its_sequence_number() {
        let p = payload(&[b'x'; 1200], 123_456);
        assert_eq!(p.len(), 1200);
        assert_eq!(sequence_number(&p), Some(123_456));
        assert_eq!(sequence_number(b"short"), None);
    }

    #[test]
    fn tally_counts_lost_duplicated_and_waits_for_the_last_subscriber() {
        let t = Instant::now();
        let acks = [ack(0, t), ack(1, t), ack(2, t)];
        let ms = |n| t + Duration::from_millis(n);
        let a = Received {
            got: vec![(0, ms(1)), (1, ms(2)), (1, ms(3)), (2, ms(4))],
            errors: 0,
        };
        let b = Received {
            got: vec![(0, ms(5)), (2, ms(6))],
            errors: 0,
        };
        let tally = Tally::new(3, &acks, &[a, b]);
        assert_eq!((tally.lost, tally.duplicated), (1, 1));
        // Message 1 never reached b; 0 and 2 reached both, the last at 5 and 6 ms.
        assert_eq!(tally.delivered.ms(0.5), 5.0);
        assert_eq!(tally.delivered.ms(1.0), 6.0);
    }
}
