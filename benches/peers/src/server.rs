//! Starting a real `nats-server` for a run: a config file in a temporary
//! folder (mutual TLS with `verify: true`, JetStream with its store in the
//! same folder and `sync_interval: always`), 127.0.0.1 on a random port read
//! back from its log. Killed when dropped, also on error. Also reads its CPU
//! time and memory from /proc, as isthmus-bench does for isthmusd.

use crate::certs::ServerFiles;
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `nats-server`; killed when dropped.
pub struct NatsServer {
    child: Child,
    /// Where it listens for clients.
    pub addr: SocketAddr,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nats-server --version`, e.g. "2.15.1"; refuses versions older than
/// 2.10 (the first with `sync_interval: always`).
pub fn version(bin: &Path) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let v = text
        .split_whitespace()
        .find_map(|w| {
            w.strip_prefix('v')
                .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .ok_or_else(|| anyhow!("cannot read a version from {text:?}"))?
        .to_owned();
    let mut parts = v.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (2, 10) {
        bail!("nats-server {v} is too old: sync_interval: always needs 2.10 or later");
    }
    Ok(v)
}

/// Quotes `p` as a NATS config string.
fn quoted(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

impl NatsServer {
    /// Writes `dir/nats.conf` and starts `bin` with it; the JetStream store
    /// is `dir/jetstream`.
    pub fn start(bin: &Path, tls: &ServerFiles, dir: &Path) -> anyhow::Result<NatsServer> {
        let store = dir.join("jetstream");
        std::fs::create_dir_all(&store)?;
        let config = dir.join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "# written by nats-bench for one run\n\
                 server_name: isthmus_peer_bench\n\
                 listen: \"127.0.0.1:-1\"\n\
                 tls {{\n  cert_file: {cert}\n  key_file: {key}\n  ca_file: {ca}\n  verify: true\n  timeout: 5\n}}\n\
                 jetstream {{\n  store_dir: {store}\n  sync_interval: always\n  max_memory_store: 1GB\n  max_file_store: 20GB\n}}\n",
                cert = quoted(&tls.cert),
                key = quoted(&tls.key),
                ca = quoted(&tls.ca),
                store = quoted(&store),
            ),
        )?;
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        std::thread::spawn(move || {
            let mut port = None;
            let mut log = Vec::new();
            let mut ready = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !ready {
                    if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                        port = Some(rest.trim().to_owned());
                    }
                    if line.contains("Server is ready") {
                        ready = true;
                        let _ = tx.send(port.take().ok_or_else(|| "no client address in the log".to_owned()));
                    }
                    log.push(line);
                } else if line.contains("[ERR]") || line.contains("[WRN]") || line.contains("[FTL]") {
                    eprintln!("nats-server: {line}");
                }
            }
            if !ready {
                let _ = tx.send(Err(log.join("\n")));
            }
        });
        let mut server = NatsServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(a)) => a,
            Ok(Err(log)) => bail!("nats-server did not start:\n{log}"),
            Err(_) => bail!("nats-server did not report it was ready within 30 s"),
        };
        server.addr = addr.parse().with_context(|| format!("client address {addr:?}"))?;
        Ok(server)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system, all threads) the server has used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        isthmus::bench::process::cpu_time(self.child.id())
    }
}
