//! Audit log: one JSON line per response that carried raw points, and one per accepted write.
//! Callers signed in with OpenID Connect are named by `sub` and `preferred_username`. On a store
//! with an audit table (PostGIS) every entry also goes there, so the processes sharing one
//! database write one log.

use super::auth::Caller;
use crate::store::Store;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub struct AuditLog {
    path: Option<PathBuf>,
    lock: Mutex<()>,
    table: Option<Arc<dyn Store>>,
}

impl AuditLog {
    pub fn new(path: Option<PathBuf>) -> AuditLog {
        AuditLog { path, lock: Mutex::new(()), table: None }
    }

    /// The same log, written to the store's audit table as well when it keeps one.
    pub fn with_store(mut self, store: Arc<dyn Store>) -> AuditLog {
        self.table = store.keeps_audit_log().then_some(store);
        self
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub fn record(&self, caller: &Caller, collection: &str, what: &str, features: usize) {
        let mut line = Self::who(caller);
        line["collection"] = collection.into();
        line["request"] = what.into();
        line["features"] = features.into();
        self.write(line);
    }

    /// An accepted write (`POST`/`PUT`/`DELETE`), with its method, path and status.
    pub fn record_write(&self, caller: &Caller, method: &str, path: &str, status: u16) {
        let mut line = Self::who(caller);
        line["write"] = method.into();
        line["request"] = path.into();
        line["status"] = status.into();
        self.write(line);
    }

    /// A gallring (not a dry run): who ran it and what it removed.
    pub fn record_gallring(&self, by: &str, r: &crate::store::GallringReport) {
        let mut line = serde_json::json!({
            "time": crate::model::time::now_utc_text(),
            "role": by,
        });
        line["gallring"] = serde_json::to_value(r).unwrap_or_default();
        self.write(line);
    }

    fn who(caller: &Caller) -> serde_json::Value {
        serde_json::json!({
            "time": crate::model::time::now_utc_text(),
            "role": caller.role.as_str(),
            "token": caller.fingerprint,
            "sub": caller.user.as_ref().map(|u| u.sub.clone()),
            "preferred_username": caller.user.as_ref().and_then(|u| u.preferred_username.clone()),
        })
    }

    fn write(&self, line: serde_json::Value) {
        tracing::info!(target: "audit", "{line}");
        if let Some(t) = &self.table {
            // Written before the response leaves: an entry is never missing for a served response
            // because the process stopped right after.
            if let Err(e) = t.append_audit(&line) {
                tracing::error!("cannot write the audit table of {}: {e}", t.describe());
            }
        }
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

/// Runs a gallring on a store and, unless a dry run, writes it to the audit log: the command
/// and the service's daily run share it.
pub fn gallra(
    store: &dyn crate::store::Store,
    plan: &crate::store::GallringPlan,
    audit: &AuditLog,
) -> Result<crate::store::GallringReport, crate::store::StoreError> {
    let r = store.gallra(plan)?;
    if !r.dry_run {
        audit.record_gallring(&plan.by, &r);
    }
    Ok(r)
}
