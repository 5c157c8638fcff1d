//! A throwaway PostgreSQL cluster with PostGIS for one test: `initdb` into a temporary directory,
//! `pg_ctl start` on a free port, stopped and removed on drop. No containers: Debian's
//! `postgresql` and `postgresql-15-postgis-3` (see .ci/setup). PostgreSQL refuses to run as
//! root, so under root the server runs as the `postgres` OS user through `runuser`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// The newest installed server's bin directory (`/usr/lib/postgresql/N/bin`).
fn server_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server is not installed (/usr/lib/postgresql); run .ci/setup")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("no initdb under /usr/lib/postgresql/*/bin").1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PgCluster {
    /// Starts a new cluster; panics with the server log when it cannot.
    pub fn start() -> PgCluster {
        let dir = tempfile::Builder::new().prefix("lagesbild-pg").tempdir().expect("tempdir");
        let bin = server_bin();
        if is_root() {
            let ok = Command::new("chown").arg("-R").arg("postgres").arg(dir.path()).status().map(|s| s.success()).unwrap_or(false);
            assert!(ok, "cannot hand {} to the postgres user", dir.path().display());
        }
        let mut c = PgCluster { dir, bin, port: 0 };
        let data = c.dir.path().join("data");
        c.run("initdb", &["-D", data.to_str().unwrap(), "-U", "lagesbild", "--auth=trust", "-E", "UTF8", "--no-locale"]);
        // A port taken between the probe and the start is retried with another.
        for _ in 0..5 {
            let port = free_port();
            let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", c.dir.path().display());
            let log = c.dir.path().join("server.log");
            if c.try_run("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "-t", "120", "start"]) {
                c.port = port;
                return c;
            }
        }
        panic!("PostgreSQL did not start: {}", std::fs::read_to_string(c.dir.path().join("server.log")).unwrap_or_default());
    }

    fn command(&self, tool: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    fn try_run(&self, tool: &str, args: &[&str]) -> bool {
        self.command(tool).args(args).current_dir(self.dir.path()).output().map(|o| o.status.success()).unwrap_or(false)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).current_dir(self.dir.path()).output().expect(tool);
        assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A new empty database in this cluster; returns its URL.
    pub fn database(&self, name: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "lagesbild", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql");
        assert!(out.status.success(), "CREATE DATABASE {name}: {}", String::from_utf8_lossy(&out.stderr));
        format!("postgresql://lagesbild@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL with psql and returns its unaligned output (for checks beside the store's own reads).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "lagesbild", "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.command("pg_ctl").args(["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]).output();
    }
}
