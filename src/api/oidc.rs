//! OpenID Connect bearer tokens: the issuer's discovery document and JWKS are fetched and
//! cached; tokens are verified with `jsonwebtoken` (signature, `iss`, `aud`, `exp`, `nbf`);
//! roles come from one claim through a name map.
//!
//! Fetching stays off the request path where it can: a background task loads the keys at start
//! and refreshes them hourly. A request only fetches when the cache has no key for its `kid`
//! (key rotation), at most once per `refetch_interval` (default [`REFETCH_INTERVAL`]), so a flood of forged `kid`s cannot
//! turn the service into a load generator against the provider.

use super::auth::Role;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// Default smallest time between two fetches of the provider's documents.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How often the background task refreshes keys that did load.
const REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// Discovery documents and key sets are small; anything larger is refused before parsing.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OIDC issuer '{0}' must be https:// (plain http only on a loopback address such as http://127.0.0.1:PORT)")]
    InsecureIssuer(String),
    #[error("OIDC role map entry '{0}': expected CLAIM_VALUE=ROLE with ROLE one of public, partner, analyst, editor, admin")]
    RoleMap(String),
    #[error("cannot set up the HTTP client for the identity provider: {0}")]
    Client(String),
    #[error("the bearer token is not a well-formed JWT with a supported algorithm (RS256 or ES256)")]
    Malformed,
    #[error("token algorithm {0} is not accepted (RS256 or ES256 only)")]
    Algorithm(String),
    #[error("token signed with a key the identity provider does not publish (kid {0})")]
    UnknownKey(String),
    #[error("token signature is not valid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("token is for another audience")]
    Audience,
    #[error("token is from another issuer")]
    Issuer,
    #[error("token lacks the claim '{0}'")]
    MissingClaim(String),
    #[error("token is not valid: {0}")]
    Invalid(String),
    #[error("the identity provider cannot be reached: {0}")]
    Unavailable(String),
}

impl OidcError {
    /// Whether the fault is the provider's (503), not the token's (401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, OidcError::Unavailable(_))
    }
}

/// `serve --oidc-*` settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub audience: String,
    pub role_claim: String,
    /// Claim value → role; empty means the role names themselves.
    pub role_map: HashMap<String, Role>,
    /// The web map's public client, if the map should offer "Logga in".
    pub client_id: Option<String>,
    /// Scopes the map asks for.
    pub scopes: String,
    /// Smallest time between two fetches of discovery and keys.
    pub refetch_interval: Duration,
}

impl OidcConfig {
    pub fn new(issuer: &str, audience: &str) -> Result<OidcConfig, OidcError> {
        let issuer = issuer.trim().trim_end_matches('/').to_string();
        check_issuer(&issuer)?;
        Ok(OidcConfig {
            issuer,
            audience: audience.to_string(),
            role_claim: "roles".into(),
            role_map: HashMap::new(),
            client_id: None,
            scopes: "openid profile".into(),
            refetch_interval: REFETCH_INTERVAL,
        })
    }

    /// `lagesbild-analytiker=analyst,lagesbild-redaktor=editor`.
    pub fn parse_role_map(v: &str) -> Result<HashMap<String, Role>, OidcError> {
        let mut m = HashMap::new();
        for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (claim, role) = entry.split_once('=').ok_or_else(|| OidcError::RoleMap(entry.into()))?;
            let role = Role::parse(role).ok_or_else(|| OidcError::RoleMap(entry.into()))?;
            if claim.trim().is_empty() {
                return Err(OidcError::RoleMap(entry.into()));
            }
            m.insert(claim.trim().to_string(), role);
        }
        Ok(m)
    }

    /// The highest role any of the claim's values maps to; `public` when none does.
    pub fn role_of(&self, values: &[String]) -> Role {
        values.iter().filter_map(|v| if self.role_map.is_empty() { Role::parse(v) } else { self.role_map.get(v).copied() }).max().unwrap_or(Role::Public)
    }
}

/// https, or http on a loopback address (a local provider, the tests).
fn check_issuer(issuer: &str) -> Result<(), OidcError> {
    let url = reqwest::Url::parse(issuer).map_err(|_| OidcError::InsecureIssuer(issuer.into()))?;
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ok = match url.scheme() {
        "https" => !host.is_empty(),
        "http" => bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(OidcError::InsecureIssuer(issuer.into()))
    }
}

/// The parts of the discovery document lagesbild uses (and the map is told about).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
}

struct KeySet {
    discovery: Discovery,
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    /// Keys without a `kid`, tried when a token has none either.
    unnamed: Vec<(Algorithm, DecodingKey)>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, Serialize)]
pub struct OidcUser {
    pub sub: String,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
}

pub struct Verifier {
    config: OidcConfig,
    http: reqwest::Client,
    cache: RwLock<Option<Arc<KeySet>>>,
    fetch: Mutex<FetchState>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    preferred_username: Option<String>,
    name: Option<String>,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

impl Verifier {
    pub fn new(config: OidcConfig) -> Result<Arc<Verifier>, OidcError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            // Discovery and keys come from the issuer's own host; a redirect elsewhere is refused.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Client(e.to_string()))?;
        Ok(Arc::new(Verifier { config, http, cache: RwLock::new(None), fetch: Mutex::new(FetchState::default()) }))
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Loads the keys now and refreshes them in the background; failures are logged and retried
    /// (requests with tokens get 503 until the provider answers).
    pub fn spawn_refresh(self: &Arc<Self>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let wait = match me.refetch().await {
                    Ok(_) => REFRESH_INTERVAL,
                    Err(e) => {
                        tracing::warn!("OIDC: {e}");
                        me.config.refetch_interval.max(Duration::from_secs(1))
                    }
                };
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// The cached discovery document, fetching it if there is none yet (rate-bounded).
    pub async fn discovery(&self) -> Result<Discovery, OidcError> {
        let cached = self.cache.read().await.clone();
        if let Some(k) = cached {
            return Ok(k.discovery.clone());
        }
        Ok(self.refetch_bounded(None).await?.discovery.clone())
    }

    /// Fetches discovery and keys unless another fetch happened within the refetch interval;
    /// `kid`: skip the fetch when a concurrent one already brought that key. The check and the
    /// fetch happen under one lock, so concurrent requests cause one fetch, not one each.
    async fn refetch_bounded(&self, kid: Option<&str>) -> Result<Arc<KeySet>, OidcError> {
        let mut st = self.fetch.lock().await;
        let cached = self.cache.read().await.clone();
        if let Some(k) = &cached {
            if kid.is_none_or(|kid| k.keys.contains_key(kid)) {
                return Ok(Arc::clone(k));
            }
        }
        if st.last_attempt.is_some_and(|t| t.elapsed() < self.config.refetch_interval) {
            return cached.ok_or_else(|| OidcError::Unavailable(st.last_error.clone().unwrap_or_else(|| "keys not loaded yet".into())));
        }
        self.fetch_locked(&mut st).await
    }

    /// Unconditional fetch (serialised with other fetches).
    async fn refetch(&self) -> Result<Arc<KeySet>, OidcError> {
        let mut st = self.fetch.lock().await;
        self.fetch_locked(&mut st).await
    }

    async fn fetch_locked(&self, st: &mut FetchState) -> Result<Arc<KeySet>, OidcError> {
        st.last_attempt = Some(Instant::now());
        match self.load().await {
            Ok(k) => {
                let k = Arc::new(k);
                *self.cache.write().await = Some(Arc::clone(&k));
                st.last_error = None;
                tracing::info!("OIDC: {} keys from {}", k.keys.len() + k.unnamed.len(), k.discovery.jwks_uri);
                Ok(k)
            }
            Err(e) => {
                st.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let unavailable = |e: String| OidcError::Unavailable(format!("{url}: {e}"));
        let mut resp = self.http.get(url).send().await.map_err(|e| unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!("HTTP {}", resp.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unavailable(e.to_string()))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(unavailable("document too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(format!("not the expected JSON: {e}")))
    }

    async fn load(&self) -> Result<KeySet, OidcError> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        // OpenID Connect Discovery 1.0 §4.3: the document's issuer is exactly the configured one.
        if discovery.issuer.trim_end_matches('/') != self.config.issuer {
            return Err(OidcError::Unavailable(format!("{url} names issuer '{}', not '{}'", discovery.issuer, self.config.issuer)));
        }
        check_issuer(&discovery.jwks_uri).map_err(|_| OidcError::Unavailable(format!("jwks_uri '{}' is not https", discovery.jwks_uri)))?;
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        let mut keys = HashMap::new();
        let mut unnamed = Vec::new();
        for jwk in &set.keys {
            let Some((alg, key)) = usable_key(jwk) else { continue };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.insert(kid.clone(), (alg, key));
                }
                None => unnamed.push((alg, key)),
            }
        }
        Ok(KeySet { discovery, keys, unnamed })
    }

    /// Verifies a bearer JWT and maps its role claim.
    pub async fn verify(&self, token: &str) -> Result<(Role, OidcUser), OidcError> {
        // Algorithms the crate does not know (`none` among them) already fail here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcError::Algorithm(format!("{:?}", header.alg)));
        }
        // Bound first: a read guard alive in a `match` would block the fetch's write.
        let cached = self.cache.read().await.clone();
        let ks = match cached {
            Some(k) => k,
            None => self.refetch_bounded(None).await?,
        };
        let (alg, key) = match &header.kid {
            Some(kid) => match ks.keys.get(kid) {
                Some(k) => k.clone(),
                None => {
                    // Possibly a rotated key: one bounded refetch.
                    let ks = self.refetch_bounded(Some(kid)).await?;
                    ks.keys.get(kid).cloned().ok_or_else(|| OidcError::UnknownKey(kid.clone()))?
                }
            },
            None => {
                let mut fitting = ks.unnamed.iter().filter(|(a, _)| *a == header.alg);
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => k.clone(),
                    _ => return Err(OidcError::UnknownKey("none".into())),
                }
            }
        };
        if alg != header.alg {
            return Err(OidcError::Algorithm(format!("{:?} with a {:?} key", header.alg, alg)));
        }
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECONDS;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_audience(&[&self.config.audience]);
        v.set_issuer(&[&ks.discovery.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(map_jwt_error)?;
        let c = data.claims;
        let role = self.config.role_of(&claim_values(&c.rest, &self.config.role_claim));
        let sub = c.sub.ok_or_else(|| OidcError::MissingClaim("sub".into()))?;
        Ok((role, OidcUser { sub, preferred_username: c.preferred_username, name: c.name }))
    }
}

/// The strings of a claim that is a string or an array of strings. A name that is not a claim
/// itself is followed as a path through nested objects (`realm_access.roles`, Keycloak's
/// default), so namespaced claims with dots (`https://kommun.se/roles`) still work as they are.
fn claim_values(claims: &HashMap<String, serde_json::Value>, name: &str) -> Vec<String> {
    let value = claims.get(name).or_else(|| {
        let mut parts = name.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |v, p| v.get(p))
    });
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => vec![],
    }
}

/// RSA and P-256 signing keys; anything else in the set (encryption keys, other curves) is skipped.
fn usable_key(jwk: &Jwk) -> Option<(Algorithm, DecodingKey)> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    if let Some(a) = &jwk.common.key_algorithm {
        if format!("{a:?}") != format!("{alg:?}") {
            return None;
        }
    }
    DecodingKey::from_jwk(jwk).ok().map(|k| (alg, k))
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> OidcError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature | K::InvalidEcdsaKey | K::InvalidRsaKey(_) => OidcError::Signature,
        K::ExpiredSignature => OidcError::Expired,
        K::ImmatureSignature => OidcError::NotYetValid,
        K::InvalidAudience => OidcError::Audience,
        K::InvalidIssuer => OidcError::Issuer,
        K::InvalidAlgorithm | K::UnsupportedAlgorithm => OidcError::Algorithm("not the key's".into()),
        K::MissingRequiredClaim(c) => OidcError::MissingClaim(c.clone()),
        K::InvalidToken | K::Base64(_) | K::Json(_) | K::Utf8(_) => OidcError::Malformed,
        other => OidcError::Invalid(format!("{other:?}")),
    }
}

/// Whether a bearer value looks like a JWT (three base64url parts), as opposed to a static token.
pub fn looks_like_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty()) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(OidcConfig::new("https://login.example.se/realms/kommun", "api").is_ok());
        assert!(OidcConfig::new("http://127.0.0.1:8081", "api").is_ok());
        assert!(OidcConfig::new("http://localhost:8081/", "api").is_ok());
        assert!(OidcConfig::new("http://[::1]:8081", "api").is_ok());
        assert!(OidcConfig::new("http://login.example.se", "api").is_err());
        assert!(OidcConfig::new("http://10.0.0.1:8081", "api").is_err());
        assert!(OidcConfig::new("ftp://127.0.0.1", "api").is_err());
        assert!(OidcConfig::new("not a url", "api").is_err());
    }

    #[test]
    fn the_highest_mapped_role_wins_and_unmapped_values_are_public() {
        let mut c = OidcConfig::new("https://idp.example.se", "api").unwrap();
        c.role_map = OidcConfig::parse_role_map("lagesbild-analytiker=analyst, lagesbild-redaktor=editor,lagesbild-partner=partner").unwrap();
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(c.role_of(&v(&["lagesbild-partner", "lagesbild-redaktor", "other"])), Role::Editor);
        assert_eq!(c.role_of(&v(&["other"])), Role::Public);
        assert_eq!(c.role_of(&v(&["analyst"])), Role::Public, "with a map, only mapped names count");
        c.role_map.clear();
        assert_eq!(c.role_of(&v(&["analyst", "partner"])), Role::Analyst, "without a map, role names themselves");
        assert!(OidcConfig::parse_role_map("x=boss").is_err());
        assert!(OidcConfig::parse_role_map("analyst").is_err());
    }

    #[test]
    fn role_claims_are_strings_arrays_or_nested_paths() {
        let claims: HashMap<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "roles": ["a", 1, "b"],
            "group": "g",
            "realm_access": {"roles": ["r1"]},
            "https://kommun.se/roles": ["n1"],
        }))
        .unwrap();
        assert_eq!(claim_values(&claims, "roles"), ["a", "b"], "non-strings are skipped");
        assert_eq!(claim_values(&claims, "group"), ["g"]);
        assert_eq!(claim_values(&claims, "realm_access.roles"), ["r1"]);
        assert_eq!(claim_values(&claims, "https://kommun.se/roles"), ["n1"]);
        assert!(claim_values(&claims, "missing.path").is_empty());
    }

    #[test]
    fn only_three_base64url_parts_look_like_a_jwt() {
        assert!(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
        assert!(looks_like_jwt("a-b.c_d.e"));
        assert!(!looks_like_jwt("s3cret"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a b.c.d"));
    }
}
