//! A killed server leaves the store consistent: the process is killed (SIGKILL) while clients
//! are writing walks and observations, several times over; after each kill the store opens,
//! every observation belongs to a walk, every walk and observation has its full history, and a
//! restarted server answers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start(store: &Path, port: u16) -> Child {
    let c = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("LAGESBILD_TOKENS", "editor:crash-editor")
        .env("RUST_LOG", "error")
        .current_dir(root())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        // The port opens before the data is loaded; "ok" means the data is in service.
        if request(port, "GET", "/health", "").is_some_and(|(_, b)| b.contains("\"status\":\"ok\"")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    c
}

fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer crash-editor\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.get(9..12)?.parse().ok()?;
    Some((code, buf.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default()))
}

const WALK: &str =
    r#"{"title":"Krocktest","planned_at":"2025-11-20T18:00","route":{"type":"LineString","coordinates":[[17.95,59.428],[17.956,59.428],[17.956,59.431]]}}"#;

#[test]
fn killing_the_server_mid_write_leaves_the_store_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("crash.gpkg");
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .arg("--store")
        .arg(&store)
        .args(["import", "areas", "geodata/sollentuna_deso2025.geojson"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut acknowledged = 0usize;
    for round in 0..5u64 {
        let mut server = start(&store, port);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ack = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (stop, ack) = (stop.clone(), ack.clone());
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let Some((201, body)) = request(port, "POST", "/walks", WALK) else { continue };
                        ack.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let id = body.split("\"id\":\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
                        let obs = r#"{"point":{"type":"Point","coordinates":[17.953,59.428]},"category":"belysning","description":"mörkt"}"#;
                        if let Some((201, _)) = request(port, "POST", &format!("/walks/{id}/observations"), obs) {
                            ack.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        // Let writes run, then kill without warning at a varying moment.
        std::thread::sleep(Duration::from_millis(300 + 170 * round));
        server.kill().unwrap();
        server.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        acknowledged += ack.load(std::sync::atomic::Ordering::Relaxed);
        check(&store, acknowledged);
    }
    assert!(acknowledged > 5, "writes happened before the kills: {acknowledged}");
    let mut server = start(&store, port);
    let (code, _) = request(port, "GET", "/walks", "").unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, 200);
}

/// Every acknowledged write is there; nothing is half-written.
fn check(store: &Path, acknowledged: usize) {
    use lagesbild::store::WalkStore;
    let s = lagesbild::store::GpkgStore::new(store);
    let walks = s.walks().expect("the store opens after a kill");
    let obs = s.observations(None).unwrap();
    let ids: std::collections::HashSet<&str> = walks.iter().map(|w| w.id.as_str()).collect();
    for o in &obs {
        assert!(ids.contains(o.walk_id.as_str()), "observation {} without its walk", o.id);
        assert_eq!(s.history(&o.id).unwrap().len() as i64, o.version, "history of {}", o.id);
    }
    for w in &walks {
        assert!(w.route.0.len() == 3 && w.version == 1, "walk {} is whole", w.id);
    }
    assert!(walks.len() + obs.len() >= acknowledged, "{} walks + {} observations, {acknowledged} acknowledged", walks.len(), obs.len());
    let out = Command::new("ogrinfo").args(["-ro", "-so"]).arg(store).output().unwrap();
    assert!(out.status.success(), "ogrinfo opens the store: {}", String::from_utf8_lossy(&out.stderr));
}
