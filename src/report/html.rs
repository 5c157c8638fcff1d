//! Pieces of the printable report pages: A4 styles with page breaks, escaping, Swedish numbers
//! and small SVG charts (no scripts, so the PDF prints exactly what the page shows).

use crate::classify::est::Status;

/// A4 portrait, margins for binding, sections that start on a new page, tables that do not
/// break inside a row.
pub const STYLE: &str = r#"
@page { size: A4; margin: 18mm 16mm 20mm 16mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1a1a1a; margin: 0; }
h1 { font-size: 20pt; margin: 0 0 4mm 0; }
h2 { font-size: 14pt; margin: 0 0 3mm 0; border-bottom: 1px solid #888; }
h3 { font-size: 11pt; margin: 4mm 0 2mm 0; }
section { page-break-before: always; break-before: page; }
section.first { page-break-before: auto; break-before: auto; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm 0; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; }
tr { page-break-inside: avoid; break-inside: avoid; }
thead { display: table-header-group; }
.muted { color: #555; font-size: 9pt; }
.note { background: #fff6d6; border: 1px solid #e0c060; padding: 2mm; margin: 2mm 0; }
.sw { display: inline-block; width: 3.2mm; height: 3.2mm; border: 1px solid #555; vertical-align: middle; margin-right: 1mm; }
.green { background: #2e9e4f; } .yellow { background: #f2c500; } .red { background: #d7261e; }
.text { white-space: pre-wrap; border: 1px solid #bbb; padding: 3mm; }
"#;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A number the Swedish way (decimal comma), with `digits` decimals.
pub fn num(v: f64, digits: usize) -> String {
    // An empty sum is -0.0; a report says 0.
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v:.digits$}").replace('.', ",")
}

pub fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| num(v, digits)).unwrap_or_else(|| "–".into())
}

pub fn status_class(s: Status) -> &'static str {
    match s {
        Status::Green => "green",
        Status::Yellow => "yellow",
        Status::Red => "red",
    }
}

/// A coloured square and the Swedish word: readable in black and white too.
pub fn swatch(s: Status) -> String {
    format!("<span class=\"sw {}\"></span>{}", status_class(s), s.label_sv())
}

pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"sv\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

/// A bar chart of labelled values as inline SVG (values at the bar ends, so it reads printed).
pub fn bars(values: &[(String, f64)], unit: &str) -> String {
    let (w, row, label_w) = (640.0, 18.0, 170.0);
    let max = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1e-9);
    let h = row * values.len() as f64 + 8.0;
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">");
    for (k, (label, v)) in values.iter().enumerate() {
        let y = 4.0 + row * k as f64;
        let bw = (w - label_w - 90.0) * v / max;
        s += &format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{bw:.1}\" height=\"{}\" fill=\"#3a6ea5\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{} {}</text>",
            label_w - 4.0,
            y + 12.0,
            esc(label),
            y + 2.0,
            row - 5.0,
            label_w + bw + 4.0,
            y + 12.0,
            num(*v, if v.fract() == 0.0 { 0 } else { 1 }),
            esc(unit)
        );
    }
    s + "</svg>"
}

/// One row of coloured week squares (an EST area's weeks), with the week numbers beneath.
pub fn week_strip(weeks: &[(String, Status)]) -> String {
    let cell = 14.0;
    let w = cell * weeks.len() as f64 + 2.0;
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"28\" viewBox=\"0 0 {w} 28\">");
    for (k, (label, st)) in weeks.iter().enumerate() {
        let fill = match st {
            Status::Green => "#2e9e4f",
            Status::Yellow => "#f2c500",
            Status::Red => "#d7261e",
        };
        let x = 1.0 + cell * k as f64;
        s += &format!("<rect x=\"{x}\" y=\"1\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#555\" stroke-width=\"0.5\"/>", cell - 2.0, cell - 2.0);
        let wk = label.rsplit('W').next().unwrap_or("");
        s += &format!("<text x=\"{}\" y=\"25\" font-size=\"7\" text-anchor=\"middle\">{wk}</text>", x + (cell - 2.0) / 2.0);
    }
    s + "</svg>"
}
