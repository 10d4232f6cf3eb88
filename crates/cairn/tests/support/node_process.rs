//! One node as a real process: its workspace (keys, config, ledger, snapshots), started with
//! `cairn node --config node.json`, killed with SIGKILL, restarted with the same files.
use super::{cairn_bin, cairn_in, free_port};
use cairn_client::{CairnClient, ClientIdentity};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NodeOptions {
    pub members: usize,
    pub recovery_threshold: u64,
    pub signature_tx_count: u64,
    pub signature_delay: &'static str,
    pub snapshot_tx_count: u64,
    pub chunk_size: &'static str,
    pub durability: &'static str,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            members: 1,
            recovery_threshold: 1,
            signature_tx_count: 100,
            signature_delay: "5ms",
            snapshot_tx_count: 1000,
            chunk_size: "256KB",
            durability: "fsync",
        }
    }
}

pub struct NodeProcess {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    pub starts: u32,
}

impl NodeProcess {
    /// Creates the workspace: member and user keys (`m0..`, `u0`) and `node.json`.
    pub fn create(dir: &Path, opts: &NodeOptions) -> NodeProcess {
        let port = free_port();
        for i in 0..opts.members {
            cairn_in(dir, &["keygen", "member", "--name", &format!("m{i}")]);
        }
        cairn_in(dir, &["keygen", "user", "--name", "u0"]);
        let members: Vec<_> = (0..opts.members)
            .map(|i| json!({"certificate_file": format!("m{i}_cert.pem"), "encryption_public_key_file": format!("m{i}_enc_pubk.pem")}))
            .collect();
        let config = json!({
            "network": {
                "node_to_node_interface": {"bind_address": format!("127.0.0.1:{}", free_port())},
                "rpc_interfaces": {"primary": {"bind_address": format!("127.0.0.1:{port}")}}
            },
            "command": {
                "type": "Start",
                "service_certificate_file": "service_cert.pem",
                "start": {
                    "members": members,
                    "service_configuration": {"recovery_threshold": opts.recovery_threshold}
                }
            },
            "ledger": {"directory": "ledger", "chunk_size": opts.chunk_size, "durability": opts.durability},
            "snapshots": {"directory": "snapshots", "tx_count": opts.snapshot_tx_count},
            "ledger_signatures": {"tx_count": opts.signature_tx_count, "delay": opts.signature_delay},
            "node_data_directory": "node_data"
        });
        std::fs::write(dir.join("node.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        NodeProcess { dir: dir.to_path_buf(), port, child: None, starts: 0 }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// A node whose `node.json` the caller writes (see `support::cluster`).
    pub fn with_config(dir: &Path, port: u16, config: &serde_json::Value) -> NodeProcess {
        std::fs::write(dir.join("node.json"), serde_json::to_vec_pretty(config).unwrap()).unwrap();
        NodeProcess { dir: dir.to_path_buf(), port, child: None, starts: 0 }
    }

    /// Starts the process (output to `node-<n>.log`) and waits until it answers.
    pub fn start(&mut self) {
        self.spawn();
        self.wait_ready(Duration::from_secs(60));
    }

    /// Starts the process without waiting for it to answer (a joiner waiting to be trusted).
    pub fn spawn(&mut self) {
        self.spawn_with_env(&[]);
    }

    /// [`NodeProcess::spawn`] with extra environment variables (`FAILPOINTS` for a crash point).
    pub fn spawn_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "node already running");
        let log = std::fs::File::create(self.dir.join(format!("node-{}.log", self.starts))).unwrap();
        let child = Command::new(cairn_bin())
            .args(["node", "--config", "node.json"])
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn cairn node");
        self.child = Some(child);
        self.starts += 1;
    }

    /// The process id of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running (false once it exited or was killed).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn wait_ready(&mut self, limit: Duration) {
        let start = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node exited during start ({status}); log:\n{}", self.last_log());
            }
            if self.dir.join("service_cert.pem").exists() {
                let c = self.client(None);
                if rt.block_on(c.node_state()).is_ok() {
                    return;
                }
            }
            assert!(start.elapsed() < limit, "node not ready after {limit:?}; log:\n{}", self.last_log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn last_log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("node-{}.log", self.starts.saturating_sub(1))))
            .unwrap_or_default()
    }

    pub fn service_cert(&self) -> String {
        std::fs::read_to_string(self.dir.join("service_cert.pem")).expect("service_cert.pem")
    }

    /// A client with the given identity file prefix (`u0`, `m0`) or none.
    pub fn client(&self, identity: Option<&str>) -> CairnClient {
        let identity = identity.map(|name| ClientIdentity {
            cert_pem: std::fs::read_to_string(self.dir.join(format!("{name}_cert.pem"))).unwrap(),
            key_pem: std::fs::read_to_string(self.dir.join(format!("{name}_privk.pem"))).unwrap(),
        });
        CairnClient::new(&self.url(), &self.service_cert(), identity).expect("client")
    }

    /// Waits up to `limit` for the process to exit by itself (a crash point); returns whether
    /// it did (and forgets it).
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().unwrap().is_some()
            {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL, no warning.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("node running");
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("node running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        assert!(status.success(), "node did not stop cleanly ({status}); log:\n{}", self.last_log());
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
