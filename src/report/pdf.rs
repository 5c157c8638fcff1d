//! PDF from the report's HTML by headless Chromium (`--print-to-pdf`), the browser the project
//! already tests with: the PDF is exactly the printed page, A4 from the page's own `@page` rule.
//! The browser is `LAGESBILD_CHROMIUM` or `chromium` on the PATH; it gets a time limit and is
//! killed beyond it, so a stuck browser cannot hang a request.

use super::ReportError;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(120);

fn browser() -> String {
    std::env::var("LAGESBILD_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// Prints `html` to a PDF at `out`.
pub fn html_to_pdf(html: &str, out: &Path) -> Result<(), ReportError> {
    let dir = tempfile::tempdir().map_err(|e| ReportError::Pdf(e.to_string()))?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).map_err(|e| ReportError::Pdf(e.to_string()))?;
    let target = dir.path().join("report.pdf");
    // A profile of its own: two reports at once must not share Chromium's profile lock.
    let profile = dir.path().join("profile");
    // Chromium's log goes to a file: a pipe nobody reads while it runs could fill and stall it.
    let log_path = dir.path().join("chromium.log");
    let log = std::fs::File::create(&log_path).map_err(|e| ReportError::Pdf(e.to_string()))?;
    let mut child = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", target.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| ReportError::Pdf(format!("cannot start {} ({e}); install chromium or set LAGESBILD_CHROMIUM", browser())))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ReportError::Pdf(format!("chromium took longer than {} s", TIME_LIMIT.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(ReportError::Pdf(e.to_string())),
        }
    };
    let ok = std::fs::metadata(&target).map(|m| m.len() > 0).unwrap_or(false);
    if !status.success() || !ok {
        let err = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        return Err(ReportError::Pdf(format!("chromium exited with {status} and no PDF: {tail}")));
    }
    std::fs::copy(&target, out).map_err(|e| ReportError::Pdf(format!("{}: {e}", out.display())))?;
    Ok(())
}

/// The PDF as bytes (for HTTP).
pub fn html_to_pdf_bytes(html: &str) -> Result<Vec<u8>, ReportError> {
    let dir = tempfile::tempdir().map_err(|e| ReportError::Pdf(e.to_string()))?;
    let out = dir.path().join("out.pdf");
    html_to_pdf(html, &out)?;
    std::fs::read(&out).map_err(|e| ReportError::Pdf(e.to_string()))
}
