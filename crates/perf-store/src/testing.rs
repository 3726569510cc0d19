//! Test support shared by the crates' tests (feature `testing`): a real, small, full-able file
//! system, and a real PostgreSQL server.
//!
//! A tmpfs of a given size is the honest way to get ENOSPC from the kernel; mounting needs
//! root (CI runs as root), so [`Tmpfs::mount`] answers `None` elsewhere and the callers fall
//! back to fault injection.
//!
//! [`Postgres::start`] runs Debian's PostgreSQL (`postgresql-15`, installed by `.ci/run`) on
//! a free port with its data and socket in a temporary directory; `initdb` refuses root, so
//! as root the server runs as the `postgres` user through `runuser`. Dropping it stops that
//! server (`pg_ctl stop -m immediate`, then the process itself) and removes the directory,
//! also when the test panics.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` bytes, or `None` when mounting is not allowed here.
    pub fn mount(bytes: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Changes its size (growing it frees space for a test's "the operator freed the disk").
    pub fn resize(&self, bytes: u64) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={bytes}")])
            .arg(self.dir.path())
            .status()
            .expect("running mount");
        assert!(status.success(), "remounting the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A PostgreSQL server of this test's own.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    child: Option<std::process::Child>,
    as_postgres: bool,
}

impl Postgres {
    /// Starts a server (panics, saying what to install, when PostgreSQL is missing).
    pub fn start() -> Postgres {
        let bin = postgres_bin().expect(
            "this test needs PostgreSQL's server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql-15; .ci/run installs it)",
        );
        let as_postgres = rustix::process::geteuid().is_root();
        let dir = tempfile::tempdir().expect("a temporary directory");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("running chown");
            assert!(status.success(), "giving the postgres user the directory");
        }
        let mut pg = Postgres {
            dir,
            bin,
            port: 0,
            child: None,
            as_postgres,
        };
        let data = pg.dir.path().join("data");
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "perf", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.port = free_port();
        let child = pg
            .command("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &pg.port.to_string(), "-k"])
            .arg(pg.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting postgres");
        pg.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let ready = pg
                .command("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &pg.port.to_string(), "-U", "perf"])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "PostgreSQL did not become ready within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        pg
    }

    /// A URL of a new, empty database on this server.
    pub fn new_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://perf@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` on database `name` through psql (for tests that tamper with a database).
    pub fn psql(&self, name: &str, sql: &str) {
        let out = self
            .command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "perf",
            ])
            .args(["-d", name, "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with a `postgres` in it.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Three NATS servers with JetStream in one cluster (records can be kept on all three), each
/// on its own ports and store; nodes can be killed and restarted.
pub struct NatsCluster {
    dir: tempfile::TempDir,
    client_ports: [u16; 3],
    cluster_ports: [u16; 3],
    children: [Option<std::process::Child>; 3],
}

impl NatsCluster {
    /// Starts the three nodes and waits until JetStream has a metadata leader.
    pub fn start() -> NatsCluster {
        let mut c = NatsCluster {
            dir: tempfile::tempdir().expect("a temporary directory"),
            client_ports: [free_port(), free_port(), free_port()],
            cluster_ports: [free_port(), free_port(), free_port()],
            children: [None, None, None],
        };
        for i in 0..3 {
            c.launch(i);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !(0..3).any(|i| {
            std::fs::read_to_string(c.dir.path().join(format!("n{i}.log")))
                .is_ok_and(|l| l.contains("JetStream cluster new metadata leader"))
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "the NATS cluster elected no JetStream leader within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        c
    }

    fn launch(&mut self, i: usize) {
        let routes: Vec<String> = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats://127.0.0.1:{}", self.cluster_ports[j]))
            .collect();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("n{i}.log")))
            .expect("a log file");
        let child = Command::new(nats_server())
            .args(["-js", "-n", &format!("n{i}"), "-a", "127.0.0.1"])
            .args(["-p", &self.client_ports[i].to_string(), "-sd"])
            .arg(self.dir.path().join(format!("store{i}")))
            .args(["--cluster_name", "perf", "--cluster"])
            .arg(format!("nats://127.0.0.1:{}", self.cluster_ports[i]))
            .args(["--routes", &routes.join(",")])
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting nats-server");
        self.children[i] = Some(child);
        wait_for_port(self.client_ports[i]);
    }

    /// All three URLs, comma-separated (the client's server list).
    pub fn urls(&self) -> String {
        self.client_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills node `i` (SIGKILL), keeping its store.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on its ports and store.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i);
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..3 {
            self.kill(i);
        }
    }
}

fn nats_server() -> &'static str {
    if Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}

fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not listen on {port} within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A NATS server with JetStream of this test's own (Debian's `nats-server`, installed by
/// `.ci/run`): a free port, its store in a temporary directory; stopped and removed on drop.
pub struct Nats {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl Nats {
    /// Starts a single JetStream server.
    pub fn start() -> Nats {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut nats = Nats {
            dir,
            port: free_port(),
            child: None,
        };
        nats.launch();
        nats
    }

    fn launch(&mut self) {
        let child = Command::new(nats_server())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("this test needs nats-server on the PATH (apt-get install nats-server; .ci/run installs it)");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL) and keeps its store.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}
