//! Roles and tokens. Tokens come from a config file (stored as SHA-256 hashes) and, for
//! development and tests, from `LAGESBILD_TOKENS="editor:SECRET,analyst:SECRET2"`; clients send
//! `Authorization: Bearer SECRET`. No token means the `public` role.

use super::error::ApiError;
use super::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub use crate::privacy::Role;

#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}: expected ROLE:SECRET (or ROLE:sha256:HEX in a file), got '{1}'")]
    Entry(String, String),
    #[error("{0}: unknown role '{1}' (public, partner, analyst, editor, admin)")]
    Role(String, String),
    #[error("cannot read token file {0}: {1}")]
    File(String, String),
}

pub fn hash_token(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

impl Tokens {
    /// `editor:SECRET,analyst:SECRET2` (plain secrets, hashed on load).
    pub fn from_env_value(v: &str) -> Result<Tokens, TokenError> {
        let mut t = Tokens::default();
        for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            t.add_entry("LAGESBILD_TOKENS", entry, false)?;
        }
        Ok(t)
    }

    /// A file of `role:sha256:HEX` lines (hashes only, so the file holds no secrets), `#` comments.
    pub fn from_file(path: &std::path::Path) -> Result<Tokens, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::File(path.display().to_string(), e.to_string()))?;
        let mut t = Tokens::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            t.add_entry(&path.display().to_string(), line, true)?;
        }
        Ok(t)
    }

    fn add_entry(&mut self, src: &str, entry: &str, hashed: bool) -> Result<(), TokenError> {
        let (role, secret) = entry.split_once(':').ok_or_else(|| TokenError::Entry(src.into(), entry.into()))?;
        let role = Role::parse(role).ok_or_else(|| TokenError::Role(src.into(), role.into()))?;
        let hash = match (hashed, secret.strip_prefix("sha256:")) {
            (_, Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h.to_ascii_lowercase(),
            (false, None) if !secret.is_empty() => hash_token(secret),
            _ => return Err(TokenError::Entry(src.into(), entry.into())),
        };
        self.by_hash.insert(hash, role);
        Ok(())
    }

    pub fn merge(mut self, other: Tokens) -> Tokens {
        self.by_hash.extend(other.by_hash);
        self
    }

    /// How many tokens each role has (for the record of personal data; never the hashes).
    pub fn count_by_role(&self) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        for r in self.by_hash.values() {
            *m.entry(r.as_str().to_string()).or_insert(0) += 1;
        }
        m
    }

    pub fn role_of(&self, secret: &str) -> Option<Role> {
        self.by_hash.get(&hash_token(secret)).copied()
    }
}

/// The caller's role, with a short token fingerprint for the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    pub fingerprint: Option<String>,
    /// Who an OpenID Connect token names; static tokens name no one.
    pub user: Option<super::oidc::OidcUser>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller { role: Role::Public, fingerprint: None, user: None }
    }

    /// Whether a token (static or OIDC) was presented and accepted.
    pub fn authenticated(&self) -> bool {
        self.fingerprint.is_some()
    }
}

/// For any router state that holds the service's (`AppState` or the router's `Arc<AppState>`),
/// so that resolving the caller never clones the state.
impl<S: std::borrow::Borrow<AppState> + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state: &AppState = state.borrow();
        // Resolved once per request: the write audit layer resolves it before the handler does.
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller::anonymous());
        };
        let v = h.to_str().map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
        let secret = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("use 'Authorization: Bearer TOKEN'".into()))?;
        let secret = secret.trim();
        let fingerprint = Some(hash_token(secret)[..12].to_string());
        // A static token wins, so scripts and QGIS keep working beside OIDC.
        if let Some(role) = state.tokens.role_of(secret) {
            return Ok(Caller { role, fingerprint, user: None });
        }
        match &state.oidc {
            Some(oidc) if super::oidc::looks_like_jwt(secret) => {
                let (role, user) = oidc.verify(secret).await?;
                Ok(Caller { role, fingerprint, user: Some(user) })
            }
            _ => Err(ApiError::Unauthorized("unknown token".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_tokens_are_hashed_and_roles_ordered() {
        let t = Tokens::from_env_value("editor:s3cret, analyst:other").unwrap();
        assert_eq!(t.role_of("s3cret"), Some(Role::Editor));
        assert_eq!(t.role_of("nope"), None);
        assert!(Role::Editor.raw_points() && !Role::Partner.raw_points());
        assert!(Tokens::from_env_value("boss:x").is_err());
        assert!(Tokens::from_env_value("editor").is_err());
    }
}
