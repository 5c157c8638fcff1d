//! Audit log of raw incident access: one JSON line per response that carried raw points.

use super::auth::Caller;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

pub struct AuditLog {
    path: Option<PathBuf>,
    lock: Mutex<()>,
}

impl AuditLog {
    pub fn new(path: Option<PathBuf>) -> AuditLog {
        AuditLog { path, lock: Mutex::new(()) }
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub fn record(&self, caller: &Caller, collection: &str, what: &str, features: usize) {
        let line = serde_json::json!({
            "time": chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            "role": caller.role.as_str(),
            "token": caller.fingerprint,
            "collection": collection,
            "request": what,
            "features": features,
        });
        tracing::info!(target: "audit", "{line}");
        if let Some(p) = &self.path {
            let _g = self.lock.lock();
            match std::fs::OpenOptions::new().create(true).append(true).open(p) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{line}");
                }
                Err(e) => tracing::error!("cannot write the audit log {}: {e}", p.display()),
            }
        }
    }
}
