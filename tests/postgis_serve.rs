//! Two `lagesbild serve` processes on one PostGIS database (a throwaway cluster, tests/common/pg.rs):
//! an upload, an undo and a walk edit through one show through the other, and two edits of the
//! same walk version (or insats version) from the two processes give one success and one 412;
//! both processes write their accepted writes to one audit table.

mod common;

use common::pg::PgCluster;
use common::AREAS_3006;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const EDITOR: &str = "pg-editor";

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(url: &str, dir: &std::path::Path, name: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["--store", url, "serve", "--bind", &format!("127.0.0.1:{port}"), "--audit-log"])
        .arg(dir.join(format!("{name}.audit.log")))
        .env("LAGESBILD_TOKENS", format!("editor:{EDITOR}"))
        .spawn()
        .unwrap();
    let srv = Server { child, port };
    eventually(&format!("server {name} serves its data"), || {
        request(port, "GET", "/health", None, &[], b"")
            .is_some_and(|r| r.status == 200 && serde_json::from_slice::<Value>(&r.body).is_ok_and(|j| j["status"] == "ok"))
    });
    srv
}

struct Resp {
    status: u16,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A plain HTTP/1.0 request (so the answer is never chunked), read to the end.
fn request(port: u16, method: &str, path: &str, token: Option<&str>, headers: &[(&str, String)], body: &[u8]) -> Option<Resp> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = String::from_utf8_lossy(&raw[..split]).split_whitespace().nth(1)?.parse().ok()?;
    Some(Resp { status, body: raw[split + 4..].to_vec() })
}

/// Polls until `f` holds and returns how long that took; the cap only keeps a broken build from
/// hanging the suite.
fn eventually(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if f() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never happened: {what}");
}

fn public_total(port: u16) -> u64 {
    let r = request(port, "GET", "/collections/deso/items", None, &[], b"").expect("answer");
    assert_eq!(r.status, 200);
    r.json()["features"].as_array().unwrap().iter().map(|f| f["properties"]["incidents"].as_u64().unwrap_or(0)).sum()
}

/// `n` incidents in DeSO 0163C9002 (E 661000–662000).
fn incidents_csv(n: usize) -> String {
    let mut s = String::from("id;kategori;datum;e;n\n");
    for k in 0..n {
        s.push_str(&format!("P{k};Klotter;2025-03-{:02};{};{}\n", 1 + k % 28, 661_100 + (k % 8) * 100, 6_590_100 + (k / 8 % 8) * 100));
    }
    s
}

fn upload(port: u16, file_name: &str, content: &str) -> Resp {
    let boundary = "lagesbild-pg-boundary";
    let mut b = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"crs\"\r\n\r\nEPSG:3006\r\n").into_bytes();
    b.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
    );
    b.extend_from_slice(content.as_bytes());
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    request(port, "POST", "/api/imports/incidents", Some(EDITOR), &[("Content-Type", format!("multipart/form-data; boundary={boundary}"))], &b).expect("answer")
}

/// A walk body with a route in WGS84 along N 6 590 500 inside the fixture's DeSO 0163C9001.
fn walk_body(title: &str) -> Vec<u8> {
    let t = lagesbild::io::transform_between(3006, 4326).unwrap();
    let (mut x, mut y) = (vec![660_100.0, 660_900.0], vec![6_590_500.0, 6_590_500.0]);
    lagesbild::io::transform_coords(&t, &mut x, &mut y).unwrap();
    json!({"title": title, "planned_at": "2025-11-20T18:00", "area": "Väst", "organiser": "Trygghetssamordnare", "organisations": ["kommunen"],
           "route": {"type": "LineString", "coordinates": [[x[0], y[0]], [x[1], y[1]]]}})
    .to_string()
    .into_bytes()
}

#[test]
fn two_servers_on_one_postgis_database_see_each_others_changes() {
    let pg = PgCluster::start();
    let url = pg.database("shared");
    let dir = tempfile::tempdir().unwrap();
    let areas = dir.path().join("areas.geojson");
    std::fs::write(&areas, AREAS_3006).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_lagesbild")).args(["--store", &url, "import", "areas"]).arg(&areas).args(["--deso-version", "2025"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (a, b) = (start(&url, dir.path(), "a"), start(&url, dir.path(), "b"));
    assert_eq!((public_total(a.port), public_total(b.port)), (0, 0));

    // An upload through A shows through B.
    let r = upload(a.port, "händelser.csv", &incidents_csv(12));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let took = eventually("B shows A's upload", || public_total(b.port) == 12);
    eprintln!("B showed A's upload after {} ms", took.as_millis());

    // An undo through B shows through A.
    let d = request(b.port, "DELETE", &format!("/api/imports/{id}"), Some(EDITOR), &[], b"").unwrap();
    assert_eq!(d.status, 200, "{}", String::from_utf8_lossy(&d.body));
    let took = eventually("A shows B's undo", || public_total(a.port) == 0);
    eprintln!("A showed B's undo after {} ms", took.as_millis());

    // A walk made through A is edited through A; B's edit of the old version gets 412.
    let w = request(a.port, "POST", "/walks", Some(EDITOR), &[("Content-Type", "application/json".into())], &walk_body("Kvällsvandring")).unwrap();
    assert_eq!(w.status, 201, "{}", String::from_utf8_lossy(&w.body));
    let wid = w.json()["id"].as_str().unwrap().to_string();
    let put = |port: u16, title: &str| {
        let h = [("Content-Type", "application/json".to_string()), ("If-Match", "\"v1\"".to_string())];
        request(port, "PUT", &format!("/walks/{wid}"), Some(EDITOR), &h, &walk_body(title)).unwrap().status
    };
    assert_eq!(put(a.port, "Vinnare"), 200);
    assert_eq!(put(b.port, "Förlorare"), 412);
    let seen = request(b.port, "GET", &format!("/walks/{wid}"), None, &[], b"").unwrap().json();
    assert_eq!(seen["properties"]["title"].as_str().or(seen["title"].as_str()), Some("Vinnare"), "{seen}");
    assert_eq!(pg.psql("shared", "SELECT count(*) || ' ' || max(version) FROM walks"), "1 2");

    // The åtgärdsplan lives in the database too: the same rule for an insats.
    let insats = json!({"title": "Belysning vid gångtunneln", "area": "Väst", "problem": "Otrygghet kvällstid", "responsible": "Tekniska kontoret",
                        "start": "2025-03-10", "desired_result": "Färre anmälningar", "status": "ongoing", "level": "general"});
    let json_type = ("Content-Type", "application/json".to_string());
    let c = request(a.port, "POST", "/api/actions", Some(EDITOR), &[json_type.clone()], insats.to_string().as_bytes()).unwrap();
    assert_eq!(c.status, 201, "{}", String::from_utf8_lossy(&c.body));
    let path = format!("/api/actions/{}", c.json()["id"].as_str().unwrap());
    let put_action = |port: u16| {
        request(port, "PUT", &path, Some(EDITOR), &[json_type.clone(), ("If-Match", "\"v1\"".into())], insats.to_string().as_bytes()).unwrap().status
    };
    assert_eq!(put_action(b.port), 200);
    assert_eq!(put_action(a.port), 412);
    assert_eq!(request(a.port, "GET", "/api/actions", Some(EDITOR), &[], b"").unwrap().json()["actions"][0]["version"], 2);

    // One audit table for both processes: every accepted write, in order, whichever served it
    // (the refused 412s are not writes).
    let writes = pg.psql(
        "shared",
        "SELECT string_agg(method || ' ' || split_part(request, '/', 2) || ' ' || status, ', ' ORDER BY fid) FROM audit_log WHERE method IS NOT NULL",
    );
    assert_eq!(writes, "POST api 201, DELETE api 200, POST walks 201, PUT walks 200, POST api 201, PUT api 200");
    assert_eq!(pg.psql("shared", "SELECT string_agg(DISTINCT role, ',') FROM audit_log"), "editor");
    // Beside the writes, the upload and the undo each handed the 12 raw points to the editor.
    assert_eq!(pg.psql("shared", "SELECT string_agg(features::text, ',' ORDER BY fid) FROM audit_log WHERE collection = 'imports'"), "12,12");
}

#[test]
fn a_database_that_cannot_be_reached_is_an_error_that_never_shows_the_password() {
    // A port nobody listens on: bound and released again.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgresql://lagesbild:hemligt@127.0.0.1:{port}/none");
    for args in [&["summary"][..], &["migrate"][..], &["copy-store", "--from", &url, "--to", "x.gpkg"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_lagesbild")).args(["--store", &url]).args(args).env("LAGESBILD_STORE", &url).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} fails");
        assert!(err.contains(&format!("127.0.0.1:{port}")) && !err.contains("hemligt"), "{args:?}: {err}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_lagesbild")).arg("--help").env("LAGESBILD_STORE", &url).output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hemligt"));
}

/// Runs the command line on a store and returns its stdout; panics with stderr when it fails.
fn cli(store: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild")).args(["--store", store]).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_yearly_report_on_postgis_saves_its_orsaksanalys_there_and_equals_the_geopackages() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (areas, incidents) = (file("areas.geojson", AREAS_3006), file("inc.csv", &incidents_csv(12)));
    let text = file("orsaksanalys.txt", "Skadegörelsen samlas kring stationen kvällstid.");
    let mut reports = Vec::new();
    for store in [pg.database("report"), dir.path().join("report.gpkg").to_str().unwrap().to_string()] {
        cli(&store, &["import", "areas", &areas, "--deso-version", "2025"]);
        cli(&store, &["import", "incidents", &incidents, "--crs", "EPSG:3006"]);
        let out = dir.path().join("report.json");
        cli(&store, &["report", "lagesbild", "--year", "2025", "--format", "json", "--output", out.to_str().unwrap(), "--orsaksanalys", &text]);
        let mut r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        // When the report was made and the orsaksanalys saved are the only things allowed to differ.
        r.as_object_mut().unwrap().remove("generated");
        r["cause_analysis"].as_object_mut().unwrap().remove("at");
        reports.push(r);
    }
    assert!(reports[0].to_string().contains("Skadegörelsen samlas kring stationen"), "{}", reports[0]);
    assert_eq!(reports[0], reports[1], "PostGIS and GeoPackage give the same report");
    assert_eq!(pg.psql("report", "SELECT year || ' ' || set_by FROM cause_analyses"), "2025 cli");
}
