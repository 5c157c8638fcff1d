//! The live and bounded service against a real server on a port: uploads over HTTP, undo, data
//! shown without a restart (HTTP and command-line imports), and the analysis work limits.

mod common;

use common::{Fixture, AREAS_3006};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const EDITOR: &str = "live-editor";
const ANALYST: &str = "live-analyst";
const PARTNER: &str = "live-partner";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
}

struct Server {
    child: Child,
    port: u16,
    audit: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &Path, extra: &[&str]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let audit = store.with_extension("audit.log");
    let child = bin()
        .arg("--store")
        .arg(store)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("LAGESBILD_TOKENS", format!("editor:{EDITOR},analyst:{ANALYST},partner:{PARTNER}"))
        .spawn()
        .unwrap();
    let srv = Server { child, port, audit };
    for _ in 0..300 {
        // The port opens before the data is loaded; "ok" means the data is in service.
        if request(port, "GET", "/health", None, &[], b"").is_some_and(|r| r.status == 200 && r.json()["status"] == "ok") {
            return srv;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not answer /health");
}

struct Resp {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    }
}

/// A plain HTTP/1.1 request; the body is de-chunked.
fn request(port: u16, method: &str, path: &str, token: Option<&str>, headers: &[(&str, String)], body: &[u8]) -> Option<Resp> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    // A server may answer (413) before reading the whole body; the answer is what counts.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[split + 4..].to_vec();
    if headers.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { break };
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).ok()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    Some(Resp { status, headers, body })
}

fn get(port: u16, path: &str, token: Option<&str>) -> Resp {
    request(port, "GET", path, token, &[], b"").expect("answer")
}

/// A multipart/form-data body with a file part and text parts.
fn multipart(file_name: &str, content: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "lagesbild-test-boundary-7d1";
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    b.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
    );
    b.extend_from_slice(content);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

fn upload(port: u16, kind: &str, token: Option<&str>, file_name: &str, content: &[u8], fields: &[(&str, &str)]) -> Resp {
    let (ct, body) = multipart(file_name, content, fields);
    request(port, "POST", &format!("/api/imports/{kind}"), token, &[("Content-Type", ct)], &body).expect("answer")
}

/// Total incidents over the fixture's DeSO as the public sees them.
fn public_total(port: u16) -> u64 {
    let r = get(port, "/collections/deso/items", None);
    assert_eq!(r.status, 200);
    r.json()["features"].as_array().unwrap().iter().map(|f| f["properties"]["incidents"].as_u64().unwrap_or(0)).sum()
}

/// Polls until `f` holds; the cap only keeps a broken build from hanging the suite.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("never happened: {what}");
}

/// `n` incidents in DeSO 0163C9002 (E 661000–662000), one per line after the header.
fn incidents_csv(prefix: &str, n: usize) -> String {
    let mut s = String::from("id;kategori;datum;e;n\n");
    for k in 0..n {
        s.push_str(&format!("{prefix}{k};Klotter;2025-03-{:02};{};{}\n", 1 + k % 28, 661_100 + (k % 8) * 100, 6_590_100 + (k / 8 % 8) * 100));
    }
    s
}

#[test]
fn an_editor_uploads_incidents_sees_them_without_a_restart_and_undoes_them() {
    let f = Fixture::with_areas();
    let srv = start(f.store.path(), &[]);
    let port = srv.port;
    assert_eq!(public_total(port), 0);
    let csv = incidents_csv("W", 12);

    // Roles: no token 401, analyst 403.
    assert_eq!(upload(port, "incidents", None, "a.csv", csv.as_bytes(), &[("crs", "EPSG:3006")]).status, 401);
    assert_eq!(upload(port, "incidents", Some(ANALYST), "a.csv", csv.as_bytes(), &[("crs", "EPSG:3006")]).status, 403);

    // A bad row on line 3 refuses the whole file and leaves the store as it was.
    let before = f.store_hash();
    let bad = "id;kategori;datum;e;n\nB1;Klotter;2025-03-01;661500;6590500\nB2;Klotter;2025-03-01;inte-ett-tal;6590500\n";
    let r = upload(port, "incidents", Some(EDITOR), "bad.csv", bad.as_bytes(), &[("crs", "EPSG:3006")]);
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    assert_eq!(j["total"], 1);
    assert_eq!(j["problems"][0]["line"], 3, "{j}");
    assert!(j["problems"][0]["reason"].as_str().unwrap().len() > 3);
    assert_eq!(f.store_hash(), before, "a refused upload changes nothing");

    // The good file: 201 with the import record, and the map's layers show it without a restart.
    let etag_before = get(port, "/collections/deso/items", None).header("etag").expect("an ETag");
    let r = upload(port, "incidents", Some(EDITOR), "händelser.csv", csv.as_bytes(), &[("crs", "EPSG:3006"), ("source", "test")]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let rec = r.json();
    for k in ["id", "kind", "file", "sha256", "accepted", "rejected", "by", "at"] {
        assert!(!rec[k].is_null(), "{k} missing in {rec}");
    }
    assert_eq!(rec["accepted"], 12);
    assert_eq!(rec["file"], "händelser.csv");
    assert!(rec["by"].as_str().unwrap().starts_with("editor:"), "{rec}");
    let id = rec["id"].as_str().unwrap().to_string();
    eventually("the upload shows in the public DeSO layer", || public_total(port) == 12);
    let etag_after = get(port, "/collections/deso/items", None).header("etag").expect("an ETag");
    assert_ne!(etag_before, etag_after, "a new data generation changes the ETag");
    let revalidated = request(port, "GET", "/collections/deso/items", None, &[("If-None-Match", etag_after.clone())], b"").unwrap();
    assert_eq!(revalidated.status, 304);

    // History: analyst may read it, partner and the public may not.
    let h = get(port, "/api/imports", Some(ANALYST));
    assert_eq!(h.status, 200);
    assert!(h.json()["imports"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()));
    assert_eq!(get(port, "/api/imports", Some(PARTNER)).status, 403);
    assert_eq!(get(port, "/api/imports", None).status, 401);

    // A command-line import while the server runs shows too.
    let cli_file = f.write("cli.csv", &incidents_csv("C", 5));
    let out = bin().arg("--store").arg(f.store.path()).args(["import", "incidents"]).arg(&cli_file).args(["--crs", "EPSG:3006"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eventually("the command-line import shows", || public_total(port) == 17);

    // Undo: analyst 403, unknown id 404, editor removes exactly that import's rows.
    assert_eq!(request(port, "DELETE", &format!("/api/imports/{id}"), Some(ANALYST), &[], b"").unwrap().status, 403);
    assert_eq!(request(port, "DELETE", "/api/imports/incidents-000000000000", Some(EDITOR), &[], b"").unwrap().status, 404);
    let d = request(port, "DELETE", &format!("/api/imports/{id}"), Some(EDITOR), &[], b"").unwrap();
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    assert_eq!(d.json()["removed"], 12);
    eventually("the undo shows", || public_total(port) == 5);
    let audit = std::fs::read_to_string(&srv.audit).unwrap_or_default();
    assert!(audit.lines().any(|l| l.contains(&format!("DELETE /api/imports/{id}"))), "undo is audited: {audit}");
    let h = get(port, "/api/imports", Some(EDITOR)).json();
    assert!(!h["imports"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()), "{h}");
    // The same file may come in again after its undo.
    let again = upload(port, "incidents", Some(EDITOR), "händelser.csv", csv.as_bytes(), &[("crs", "EPSG:3006")]);
    assert_eq!(again.status, 201, "{}", String::from_utf8_lossy(&again.body));
}

#[test]
fn an_ogr_upload_names_features_and_areas_can_be_undone() {
    let f = Fixture::empty();
    // An empty store is made by the first areas import; the server needs one to start.
    let seed = f.write("seed.geojson", AREAS_3006);
    let out = bin().arg("--store").arg(f.store.path()).args(["import", "areas"]).arg(&seed).args(["--deso-version", "2025"]).output().unwrap();
    assert!(out.status.success());
    let srv = start(f.store.path(), &[]);
    // The same three squares as the 2018 edition, the second one not a DeSO code (feature 2).
    let good = AREAS_3006.replace("Väst", "Västra"); // another file than the seed (sha256)
    let bad = good.replace("0163C9002", "XYZ");
    let r = upload(srv.port, "areas", Some(EDITOR), "areas.geojson", bad.as_bytes(), &[("deso_version", "2018")]);
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["problems"][0]["feature"], 2, "{}", r.json());
    let r = upload(srv.port, "areas", Some(EDITOR), "areas.geojson", good.as_bytes(), &[("deso_version", "2018")]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let d = request(srv.port, "DELETE", &format!("/api/imports/{id}"), Some(EDITOR), &[], b"").unwrap();
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    assert_eq!(d.json()["removed"], 3);
    use lagesbild::store::Store;
    assert_eq!(f.store.areas().unwrap().len(), 3, "only the 2025 areas remain");
}

#[test]
fn an_upload_over_the_size_limit_gets_413() {
    let f = Fixture::with_areas();
    let srv = start(f.store.path(), &["--max-upload-mb", "1"]);
    let big = incidents_csv("L", 40_000); // about 1.3 MB
    assert!(big.len() > 1024 * 1024);
    let r = upload(srv.port, "incidents", Some(EDITOR), "big.csv", big.as_bytes(), &[("crs", "EPSG:3006")]);
    assert_eq!(r.status, 413);
    assert!(r.json()["description"].as_str().unwrap().contains("MB"));
}

#[test]
fn a_preview_shows_columns_rows_and_problems_without_writing() {
    let f = Fixture::with_areas();
    let srv = start(f.store.path(), &[]);
    let before = f.store_hash();
    let csv = "id;kategori;datum;e;n\nP1;Klotter;2025-03-01;661500;6590500\nP2;Okänd sak;2025-03-01;661500;6590500\n";
    let (ct, body) = multipart("p.csv", csv.as_bytes(), &[("crs", "EPSG:3006")]);
    let r = request(srv.port, "POST", "/api/imports/incidents/preview", Some(EDITOR), &[("Content-Type", ct)], &body).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = r.json();
    assert_eq!(j["columns"], serde_json::json!(["id", "kategori", "datum", "e", "n"]));
    assert_eq!(j["rows"][0][0], "P1");
    assert_eq!(j["mapping"]["category"], "kategori", "{j}");
    assert_eq!(j["problems"][0]["line"], 3, "{j}");
    assert_eq!(j["would_import"], false);
    assert_eq!(f.store_hash(), before, "a preview writes nothing");
}

/// 200 points spread over 20 × 20 km of Sollentuna and Upplands Väsby (inside Sweden; most lie
/// outside the three fixture squares, which the import allows).
fn spread_csv(n: usize) -> String {
    let mut s = String::from("id;kategori;datum;e;n\n");
    for k in 0..n {
        let (i, j) = (k % 20, k / 20 % 20);
        s.push_str(&format!(
            "S{k};Klotter;2025-{:02}-{:02};{};{}\n",
            1 + k % 12,
            1 + k % 28,
            655_000 + i * 1000 + (k * 37) % 500,
            6_585_000 + j * 1000 + (k * 53) % 500
        ));
    }
    s
}

#[test]
fn analyses_over_the_work_limit_get_400_saying_what_to_change_and_health_keeps_answering() {
    let f = Fixture::with_areas();
    let p = f.write("spread.csv", &spread_csv(400));
    f.import(lagesbild::import::ImportKind::Incidents, &p, &common::crs3006()).expect("spread incidents");
    let srv = start(f.store.path(), &["--analysis-workers", "1", "--analysis-queue", "1"]);
    // 25 m cells over 20 km: 800 × 800 cells, far over the limit.
    let r = get(srv.port, "/analysis/hotspots?cell=25", None);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let msg = r.json()["description"].as_str().unwrap().to_string();
    assert!(msg.contains("cell=") && msg.contains("shorter period"), "{msg}");
    let r = get(srv.port, "/analysis/emerging?cell=50&step_days=1", None);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["description"].as_str().unwrap().contains("step_days"));
    // Within the limits: answered, with an ETag of the current generation.
    let ok = get(srv.port, "/analysis/hotspots?cell=500", None);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert!(ok.header("etag").is_some_and(|e| e.starts_with("\"g")));
    // A crowd of distinct analyses with one worker and a queue of one: every answer is a result,
    // a clear 4xx or a 503 with Retry-After, and /health answers meanwhile.
    let port = srv.port;
    let crowd: Vec<_> = (0..8)
        .map(|k| std::thread::spawn(move || request(port, "GET", &format!("/analysis/density?radius={}", 300 + k * 50), None, &[], b"").expect("answer")))
        .collect();
    assert_eq!(get(port, "/health", None).status, 200);
    assert_eq!(get(port, "/tiles/deso/10/563/300.mvt", None).status / 100, 2);
    for t in crowd {
        let r = t.join().unwrap();
        match r.status {
            200 => {}
            503 => {
                assert!(r.header("retry-after").is_some(), "503 without Retry-After");
                assert_eq!(r.json()["code"], "ServiceUnavailable");
            }
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&r.body)),
        }
    }
}

#[test]
fn a_places_import_from_the_command_line_shows_in_the_running_service_without_a_restart() {
    let f = Fixture::with_areas();
    let srv = start(f.store.path(), &[]);
    assert_eq!(get(srv.port, "/api/profile/Stationen", None).status, 404);
    let place = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
      "features":[{"type":"Feature","properties":{"name":"Stationen"},
      "geometry":{"type":"Polygon","coordinates":[[[661200,6590200],[661800,6590200],[661800,6590800],[661200,6590800],[661200,6590200]]]}}]}"#;
    let p = f.write("station.geojson", place);
    let out = bin().arg("--store").arg(f.store.path()).args(["import", "places"]).arg(&p).args(["--kind", "plats"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eventually("the new place answers by name", || get(srv.port, "/api/profile/Stationen", None).status == 200);
    let r = get(srv.port, "/api/profile/Stationen", None);
    assert_eq!(r.json()["area"]["level"], "place");
    assert_eq!(get(srv.port, "/collections/places/items", None).json()["features"][0]["properties"]["kind"], "plats");
}
