//! Starting a real `isthmusd` process for a benchmark: fresh DEV material in
//! a temporary folder, a fresh data folder, 127.0.0.1 port 0, and the port
//! read back from its log.

use crate::devcerts::DevFederation;
use anyhow::{anyhow, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running hub process; killed when dropped.
pub(super) struct Daemon {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `isthmusd` next to the running executable.
pub fn sibling_isthmusd() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("isthmusd");
    match path.is_file() {
        true => Ok(path),
        false => Err(anyhow!(
            "{} not found; build it first (cargo build --release)",
            path.display()
        )),
    }
}

impl Daemon {
    /// Writes `fed` to `dir/certs` and starts `isthmusd` on `dir/data`.
    pub(super) fn start(bin: &Path, fed: &DevFederation, dir: &Path) -> anyhow::Result<Daemon> {
        let certs = dir.join("certs");
        fed.write(&certs)?;
        // The bench measures the hub's capacity, not its per-principal quotas.
        let config = dir.join("isthmusd.toml");
        std::fs::write(
            &config,
            "dev = true\n[limits]\npublish_rate_per_principal = 1e12\npublish_burst_per_principal = 1e12\n\
             publish_bytes_per_sec_per_principal = 1e15\npublish_burst_bytes_per_principal = 1e15\n\
             read_rate_per_principal = 1e12\nread_burst_per_principal = 1e12\n\
             max_streams_per_principal = 1000000\nmax_connections_per_certificate = 1000000\n\
             max_inflight_publishes_per_principal = 1000000\nmax_concurrent_streams_per_connection = 10000\n",
        )?;
        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(&config);
        cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"));
        for (flag, file) in [
            ("--ca", "ca.pem"),
            ("--cert", "server.pem"),
            ("--key", "server.key.pem"),
        ] {
            cmd.arg(flag).arg(certs.join(file));
        }
        cmd.arg("--roster")
            .arg(certs.join("roster.toml"))
            .arg("--roster-approvals")
            .arg(certs.join("roster.approvals"))
            .arg("--log-key")
            .arg(certs.join("log.key"));
        let mut child = cmd
            .env("RUST_LOG", "warn,isthmus::server::serve=info")
            .stderr(Stdio::piped())
            .spawn()
            .context("starting isthmusd")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let reported = rx.recv_timeout(Duration::from_secs(60));
        let addr = match reported.ok().and_then(|a| a.parse().ok()) {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(anyhow!("isthmusd did not report its address within 60 s"));
            }
        };
        Ok(Daemon { child, addr })
    }

    /// CPU time (user + system) the server has used so far.
    pub(super) fn cpu_time(&self) -> Option<Duration> {
        super::process::cpu_time(self.child.id())
    }

    /// Peak and current resident set size in KiB (`VmHWM`, `VmRSS`).
    pub(super) fn memory_kib(&self) -> Option<(u64, u64)> {
        super::process::memory_kib(self.child.id())
    }

    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}
