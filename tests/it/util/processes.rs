//! The real executables as the tests drive them: `isthmusd` as a child
//! process (started on 127.0.0.1 port 0, killed, restarted), the `isthmus`
//! CLI and the offline `isthmus-audit`.

use isthmus::devcerts::DevFederation;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `isthmusd` process.
pub(crate) struct Daemon {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Daemon {
    pub(crate) fn start(certs: &Path, data: &Path) -> Daemon {
        Self::start_with(certs, data, &[])
    }

    /// As [`Daemon::start`], with `extra` arguments (say `--config FILE`).
    pub(crate) fn start_with(certs: &Path, data: &Path, extra: &[&std::ffi::OsStr]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isthmusd"))
            .args(extra)
            .args(["--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--ca")
            .arg(certs.join("ca.pem"))
            .arg("--cert")
            .arg(certs.join("server.pem"))
            .arg("--key")
            .arg(certs.join("server.key.pem"))
            .arg("--roster")
            .arg(certs.join("roster.toml"))
            .arg("--roster-approvals")
            .arg(certs.join("roster.approvals"))
            .arg("--log-key")
            .arg(certs.join("log.key"))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn isthmusd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("isthmusd reports its address");
        Daemon {
            child,
            addr: addr.parse().expect("socket address"),
        }
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        self.child.wait().expect("exit")
    }
}

pub(crate) fn write_federation(days: i64) -> (DevFederation, tempfile::TempDir) {
    let fed = DevFederation::generate(days).expect("federation");
    let dir = tempfile::tempdir().expect("tempdir");
    fed.write(dir.path()).expect("write certs");
    (fed, dir)
}

pub(crate) fn cli(certs: &Path, server: &SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isthmus"))
        .arg("--server")
        .arg(server.to_string())
        .arg("--certs-dir")
        .arg(certs)
        .env("XDG_STATE_HOME", certs.join("state"))
        .args(args)
        .output()
        .expect("run isthmus")
}

pub(crate) fn audit(export: &Path, log_pub: &Path) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_isthmus-audit"))
        .arg("verify")
        .arg(export)
        .arg("--log-key")
        .arg(log_pub)
        .arg("--json")
        .output()
        .expect("run isthmus-audit");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().expect("exit code"), json)
}

/// Exports the ledger through the CLI as AUDITOR into a fresh temporary
/// folder; returns the folder (keep it alive) and the export's path.
pub(crate) fn export_as_auditor(certs: &Path, d: &Daemon) -> (tempfile::TempDir, std::path::PathBuf) {
    let out_dir = tempfile::tempdir().expect("out");
    let export = out_dir.path().join("export");
    let out = cli(
        certs,
        &d.addr,
        &["--as", "AUDITOR", "export", export.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (out_dir, export)
}

/// Every file under `dir`, recursively: its path relative to `dir` and its bytes, sorted.
pub(crate) fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}
