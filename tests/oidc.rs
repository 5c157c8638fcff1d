//! OpenID Connect against a real provider: npm's certified `oidc-provider`, started by the test
//! on a free loopback port (tests/browser/oidc-test-provider.mjs), and `lagesbild serve` as a
//! real process with the `--oidc-*` flags. The provider signs one token per role and per bad
//! case with its own published keys (or deliberately wrong ones).

mod common;

use common::{crs3006, Fixture};
use lagesbild::import::ImportKind;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const AUDIENCE: &str = "api://lagesbild";
const ROLE_MAP: &str = "lagesbild-analytiker=analyst,lagesbild-redaktor=editor,lagesbild-admin=admin,lagesbild-partner=partner";
/// A static token beside OIDC (LAGESBILD_TOKENS).
const STATIC_ANALYST: &str = "static-analyst-secret";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Provider {
    _proc: Proc,
    issuer: String,
    port: u16,
}

/// Starts the test provider; `port` 0 picks a free one. `keys` keeps its keys across restarts.
fn start_provider(port: u16, keys: &Path, extra_key: bool) -> Provider {
    let dir = root().join("tests/browser");
    assert!(dir.join("node_modules/oidc-provider").is_dir(), "tests/browser/node_modules lacks oidc-provider: run `npm ci` in tests/browser (.ci/test does)");
    let mut child = Command::new("node")
        .arg("oidc-test-provider.mjs")
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("AUDIENCE", AUDIENCE)
        .env("KEY_SEED_FILE", keys)
        .env("EXTRA_KEY", if extra_key { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node (nodejs) runs the test provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("the provider did not start: '{line}'"));
    Provider { _proc: Proc(child), issuer: info["issuer"].as_str().unwrap().to_string(), port: info["port"].as_u64().unwrap() as u16 }
}

/// Six incidents in the fixture's first DeSO square.
fn store(f: &Fixture) -> PathBuf {
    let mut csv = String::from("id;kategori;datum;e;n\n");
    for k in 0..6 {
        csv.push_str(&format!("a{k};Klotter;2025-03-1{k};{};6590510\n", 660110 + k * 100));
    }
    let p = f.write("i.csv", &csv);
    f.import(ImportKind::Incidents, &p, &crs3006()).unwrap();
    f.store.path().to_path_buf()
}

struct Server {
    _proc: Proc,
    port: u16,
    audit: PathBuf,
}

/// `lagesbild serve` with OIDC on `issuer`; extra arguments after the defaults.
fn start_server(f: &Fixture, issuer_env: Option<&str>, args: &[&str]) -> Server {
    let store = store_once(f);
    let port = free_port();
    let audit = f.dir.path().join(format!("audit-{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lagesbild"));
    cmd.arg("--store").arg(&store).args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--audit-log"]).arg(&audit);
    cmd.args(args).env("LAGESBILD_TOKENS", format!("analyst:{STATIC_ANALYST}")).env_remove("LAGESBILD_OIDC_ISSUER").env_remove("LAGESBILD_OIDC_AUDIENCE");
    if let Some(i) = issuer_env {
        cmd.env("LAGESBILD_OIDC_ISSUER", i).env("LAGESBILD_OIDC_AUDIENCE", AUDIENCE);
    }
    let child = Proc(cmd.current_dir(root()).stderr(Stdio::null()).spawn().unwrap());
    for _ in 0..300 {
        // Serving starts at once and the data loads in the background: wait until /health is ok.
        if health_ok(port) {
            return Server { _proc: child, port, audit };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("lagesbild serve did not listen on {port}");
}

fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    if c.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    text.contains("\"status\":\"ok\"")
}

fn store_once(f: &Fixture) -> PathBuf {
    if f.store.path().exists() && f.dir.path().join("i.csv").exists() {
        f.store.path().to_path_buf()
    } else {
        store(f)
    }
}

fn oidc_args<'a>(issuer: &'a str, refetch: &'a str) -> Vec<&'a str> {
    vec![
        "--oidc-issuer",
        issuer,
        "--oidc-audience",
        AUDIENCE,
        "--oidc-role-map",
        ROLE_MAP,
        "--oidc-client-id",
        "lagesbild-karta",
        "--oidc-refetch-seconds",
        refetch,
    ]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}

async fn mint(p: &Provider, query: &str) -> String {
    let r = client().get(format!("{}/test/mint?{query}", p.issuer)).send().await.unwrap();
    assert!(r.status().is_success(), "mint {query}");
    r.text().await.unwrap()
}

async fn call(s: &Server, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), format!("http://127.0.0.1:{}{path}", s.port));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A route in the first fixture square, in WGS84.
fn walk() -> Value {
    let t = lagesbild::io::transform_between(3006, 4326).unwrap();
    let (mut x, mut y) = (vec![660100.0, 660900.0], vec![6590500.0, 6590500.0]);
    lagesbild::io::transform_coords(&t, &mut x, &mut y).unwrap();
    json!({"title": "Kvällsvandring", "planned_at": "2025-11-20T18:00", "area": "Väst",
           "route": {"type": "LineString", "coordinates": [[x[0], y[0]], [x[1], y[1]]]}})
}

fn audit_lines(s: &Server) -> Vec<Value> {
    std::fs::read_to_string(&s.audit).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_claim_gives_its_access_and_the_audit_log_names_the_person() {
    let f = Fixture::with_areas();
    let p = start_provider(0, &f.dir.path().join("keys.json"), false);
    let s = start_server(&f, None, &oidc_args(&p.issuer, "30"));
    let items = "/collections/incidents/items";

    // Analyst (RS256, roles as an array): raw points at their true place.
    let analyst = mint(&p, "roles=lagesbild-analytiker&sub=anna-sub&username=anna").await;
    let (st, b) = call(&s, "GET", items, Some(&analyst), None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["numberReturned"], 6);
    // ES256 keys work the same, and a single string is a role claim too.
    let es = mint(&p, "kind=es256&roles=lagesbild-analytiker&single=1&sub=erik-sub&username=erik").await;
    let (st, _) = call(&s, "GET", items, Some(&es), None).await;
    assert_eq!(st, 200);

    // Partner: points only as their 250 m cell, never the raw coordinates.
    let partner = mint(&p, "roles=lagesbild-partner&sub=per").await;
    let (st, pb) = call(&s, "GET", items, Some(&partner), None).await;
    assert_eq!(st, 200, "{pb}");
    assert_ne!(pb["features"][0]["geometry"], b["features"][0]["geometry"], "partner sees snapped points");

    // A valid token whose roles map to nothing is public: refused (403, it is signed in), like
    // an anonymous caller (401).
    let nobody = mint(&p, "roles=some-other-group&sub=mia").await;
    let (st, b) = call(&s, "GET", items, Some(&nobody), None).await;
    assert_eq!((st, b["code"].as_str()), (403, Some("Forbidden")));
    let (st, _) = call(&s, "GET", items, None, None).await;
    assert_eq!(st, 401);

    // The highest mapped role wins: partner + editor → editor, who may write.
    let editor = mint(&p, "roles=lagesbild-partner,lagesbild-redaktor&sub=rune-sub&username=rune").await;
    let (st, b) = call(&s, "POST", "/walks", Some(&editor), Some(walk())).await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["properties"]["created_by"], "editor:rune");
    let (st, _) = call(&s, "POST", "/walks", Some(&analyst), Some(walk())).await;
    assert_eq!(st, 403, "an analyst may not write");

    // A static token still works beside OIDC.
    let (st, _) = call(&s, "GET", items, Some(STATIC_ANALYST), None).await;
    assert_eq!(st, 200);

    // The audit log names who read raw points and who wrote, by sub and preferred_username.
    let log = audit_lines(&s);
    let read = log.iter().find(|l| l["sub"] == "anna-sub").expect("analyst's raw read is logged");
    assert_eq!((read["preferred_username"].as_str(), read["collection"].as_str(), read["features"].as_u64()), (Some("anna"), Some("incidents"), Some(6)));
    assert!(log.iter().any(|l| l["sub"] == "erik-sub"));
    let write = log.iter().find(|l| l["write"] == "POST").expect("the write is logged");
    assert_eq!((write["sub"].as_str(), write["preferred_username"].as_str(), write["request"].as_str()), (Some("rune-sub"), Some("rune"), Some("/walks")));
    assert_eq!(log.iter().filter(|l| l["write"].is_string()).count(), 1, "a refused write is not logged as one");
    assert!(log.iter().all(|l| l["sub"] != "per"), "partner's snapped points are not raw");

    // The map learns how to sign in, and nothing secret.
    let (st, c) = call(&s, "GET", "/api/auth/config", None, None).await;
    assert_eq!(st, 200);
    assert_eq!((c["login"].as_bool(), c["client_id"].as_str(), c["issuer"].as_str()), (Some(true), Some("lagesbild-karta"), Some(p.issuer.as_str())));
    assert_eq!(c["authorization_endpoint"].as_str(), Some(format!("{}/auth", p.issuer).as_str()), "from the provider's discovery document");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_token_gets_401_with_a_json_body_and_refetching_is_bounded() {
    let f = Fixture::with_areas();
    let p = start_provider(0, &f.dir.path().join("keys.json"), false);
    // A refetch interval of an hour: after the start-up fetch, no unknown kid may cause another.
    let s = start_server(&f, None, &oidc_args(&p.issuer, "3600"));
    let good = mint(&p, "roles=lagesbild-analytiker").await;
    let (st, _) = call(&s, "GET", "/collections/incidents/items", Some(&good), None).await;
    assert_eq!(st, 200, "the control token passes");
    let skewed = mint(&p, "kind=skewed&roles=lagesbild-analytiker").await;
    let (st, b) = call(&s, "GET", "/collections/incidents/items", Some(&skewed), None).await;
    assert_eq!(st, 200, "exp 30 s ago and nbf 30 s ahead are within the 60 s leeway: {b}");
    for kind in ["expired", "not-yet-valid", "wrong-audience", "wrong-issuer", "bad-signature", "unknown-kid", "alg-none", "hs256", "rotated"] {
        let t = mint(&p, &format!("kind={kind}&roles=lagesbild-analytiker")).await;
        let (st, b) = call(&s, "GET", "/collections/incidents/items", Some(&t), None).await;
        assert_eq!(st, 401, "{kind}: {b}");
        assert_eq!(b["code"], "Unauthorized", "{kind}: {b}");
        assert!(b["description"].as_str().is_some_and(|d| !d.is_empty()), "{kind}");
        // Even on a public route a bad token is refused, not ignored.
        let (st, _) = call(&s, "GET", "/collections/deso/items?limit=1", Some(&t), None).await;
        assert_eq!(st, 401, "{kind} on a public collection");
    }
    for malformed in ["a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x..y"] {
        let (st, b) = call(&s, "GET", "/collections/deso/items?limit=1", Some(malformed), None).await;
        assert_eq!((st, b["code"].as_str()), (401, Some("Unauthorized")), "{malformed}");
    }
    let fetched: Value = client().get(format!("{}/test/fetched", p.issuer)).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched["jwks"], 1, "unknown kids within the refetch interval fetch nothing: {fetched}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_is_fetched_when_its_kid_arrives() {
    let f = Fixture::with_areas();
    let keys = f.dir.path().join("keys.json");
    let p = start_provider(0, &keys, false);
    let s = start_server(&f, None, &oidc_args(&p.issuer, "0"));
    let before = mint(&p, "kind=rotated&roles=lagesbild-analytiker").await;
    let (st, _) = call(&s, "GET", "/collections/incidents/items", Some(&before), None).await;
    assert_eq!(st, 401, "rsa-2 is not published yet");
    // The provider rotates: the same issuer now also publishes rsa-2.
    let port = p.port;
    drop(p);
    let p = start_provider(port, &keys, true);
    let after = mint(&p, "kind=rotated&roles=lagesbild-analytiker&sub=rotated").await;
    let (st, b) = call(&s, "GET", "/collections/incidents/items", Some(&after), None).await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_provider_gives_503_to_tokens_while_anonymous_callers_go_on() {
    let f = Fixture::with_areas();
    let p = start_provider(0, &f.dir.path().join("keys.json"), false);
    let token = mint(&p, "roles=lagesbild-analytiker").await;
    // Configured through the environment, on a loopback port where nothing listens.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let s = start_server(&f, Some(&dead), &["--oidc-role-map", ROLE_MAP]);
    let (st, b) = call(&s, "GET", "/collections/incidents/items", Some(&token), None).await;
    assert_eq!((st, b["code"].as_str()), (503, Some("ServiceUnavailable")), "{b}");
    let (st, b) = call(&s, "GET", "/collections/deso/items?limit=2", None, None).await;
    assert_eq!((st, b["numberReturned"].as_u64()), (200, Some(2)));
    let (st, _) = call(&s, "GET", "/collections/incidents/items", Some(STATIC_ANALYST), None).await;
    assert_eq!(st, 200, "static tokens need no provider");
    let (st, c) = call(&s, "GET", "/api/auth/config", None, None).await;
    assert_eq!((st, c["oidc"].as_bool(), c["login"].as_bool()), (200, Some(true), Some(false)));

    // Stopping a provider that did answer: cached keys still verify, a new kid cannot be fetched.
    let s2 = start_server(&f, None, &oidc_args(&p.issuer, "0"));
    let (st, _) = call(&s2, "GET", "/collections/incidents/items", Some(&token), None).await;
    assert_eq!(st, 200);
    let unknown = mint(&p, "kind=unknown-kid&roles=lagesbild-analytiker").await;
    drop(p);
    let (st, _) = call(&s2, "GET", "/collections/incidents/items", Some(&token), None).await;
    assert_eq!(st, 200, "known keys need no provider");
    let (st, b) = call(&s2, "GET", "/collections/incidents/items", Some(&unknown), None).await;
    assert_eq!((st, b["code"].as_str()), (503, Some("ServiceUnavailable")), "{b}");
    let (st, _) = call(&s2, "GET", "/api/areas", None, None).await;
    assert_eq!(st, 200);
}

#[test]
fn serve_refuses_a_plain_http_issuer_off_loopback() {
    let f = Fixture::with_areas();
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(f.store.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--oidc-issuer", "http://login.example.se", "--oidc-audience", AUDIENCE])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_role_claim_and_no_role_map_use_the_role_names_themselves() {
    let f = Fixture::with_areas();
    let p = start_provider(0, &f.dir.path().join("keys.json"), false);
    let s = start_server(&f, None, &["--oidc-issuer", &p.issuer, "--oidc-audience", AUDIENCE, "--oidc-role-claim", "groups"]);
    let analyst = mint(&p, "claim=groups&roles=analyst&single=1&sub=g1").await;
    let (st, me) = call(&s, "GET", "/api/auth/me", Some(&analyst), None).await;
    assert_eq!((st, me["role"].as_str(), me["sub"].as_str()), (200, Some("analyst"), Some("g1")));
    // The same role under the default claim name is not read: this server looks at `groups`.
    let elsewhere = mint(&p, "roles=analyst&sub=g2").await;
    let (st, me) = call(&s, "GET", "/api/auth/me", Some(&elsewhere), None).await;
    assert_eq!((st, me["role"].as_str(), me["authenticated"].as_bool()), (200, Some("public"), Some(true)));
    let (st, _) = call(&s, "GET", "/collections/incidents/items", Some(&elsewhere), None).await;
    assert_eq!(st, 403);
}
