//! A plan area's social picture as Swedish-Excel CSV and as a printable HTML page that doubles as
//! the starting document of a social konsekvensanalys: the facts filled in, and the headings under
//! which the planner writes the judgement.

use super::overlay::PlanProfile;

fn n(v: f64) -> String {
    let r = if v.abs() >= 100.0 { (v * 10.0).round() / 10.0 } else { (v * 100.0).round() / 100.0 };
    crate::model::format_number_sv(r)
}

fn on(v: Option<f64>) -> String {
    v.map(n).unwrap_or_else(|| "–".into())
}

fn pct(share: f64) -> String {
    n(100.0 * share)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `avsnitt;post;värde;kommun;län;år;not`, with a BOM so Swedish Excel reads UTF-8.
pub fn to_csv(p: &PlanProfile) -> String {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    let mut row = |cells: [&str; 7]| w.write_record(cells).expect("in-memory CSV");
    row(["avsnitt", "post", "värde", "kommun", "län", "år", "not"]);
    row(["planområde", "namn", &p.name, &p.kommun, "", "", &format!("DeSO {}", p.deso_version)]);
    row(["planområde", "yta (km²)", &n(p.area_km2), "", "", "", ""]);
    row(["planområde", "befolkning", &on(p.population), "", "", "", p.population_method]);
    for d in &p.desos {
        let note = if d.sliver { "liten del av DeSO" } else { "" };
        row(["DeSO", &d.deso, &pct(d.share), "", "", "", &format!("andel av DeSO:s yta (%); {}{note}", d.regso_name)]);
    }
    for r in &p.regsos {
        row(["RegSO", &r.name, &pct(r.share), "", "", "", "andel av RegSO:s yta (%)"]);
    }
    for l in &p.indicators {
        let label = if l.unit.is_empty() { l.line.label_sv.clone() } else { format!("{} ({})", l.line.label_sv, l.unit) };
        let note = format!("{}; {}{}", l.method_sv, l.line.source, l.warning.as_deref().map(|w| format!("; {w}")).unwrap_or_default());
        row(["indikator", &label, &n(l.line.value), &on(l.line.municipality), &on(l.line.county), &l.line.year.to_string(), &note]);
    }
    for t in &p.omradestyp {
        row(["områdestyp", &format!("{} – {}", t.omradestyp, t.label_sv), &n(t.residents_in_plan), "", "", "", "invånare i planområdet"]);
    }
    row(["boende", "dominerande upplåtelseform", &p.housing.dominant_tenure, "", "", "", ""]);
    row(["boende", "trångboddhetsklass", p.housing.crowding_class.unwrap_or("–"), "", "", "", ""]);
    row(["händelser", "totalt", &p.incidents_total.map(|n| n.to_string()).unwrap_or_else(|| "–".into()), "", "", "", "inom planområdet"]);
    for c in &p.incidents_by_category {
        row([
            "händelser",
            c.label_sv,
            &c.count.map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
            "",
            "",
            "",
            &format!("per 1 000 inv: {}", on(c.per_1000)),
        ]);
    }
    for h in &p.hotspots {
        row(["hotspot", &h.deso, &h.gi_bin.to_string(), "", "", "", &format!("z = {}", n(h.gi_z))]);
    }
    for o in &p.police_areas {
        row(["polisens områden", &o.name, &n(o.share_pct), "", "", "", &format!("{} sedan {}", o.class, o.since)]);
    }
    for x in p.warnings.iter().chain(&p.notes) {
        row(["not", "", x, "", "", "", ""]);
    }
    let bytes = w.into_inner().expect("flush");
    format!("\u{feff}{}", String::from_utf8(bytes).expect("UTF-8"))
}

fn html_areas(p: &PlanProfile) -> String {
    let mut h = String::from("<h2>Berörda DeSO</h2><table><tr><th>DeSO</th><th>RegSO</th><th>Andel av DeSO inom planområdet</th><th>Invånare i DeSO</th><th>Invånare × andel</th><th>Områdestyp</th></tr>");
    for d in &p.desos {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{} %{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&d.deso),
            esc(&d.regso_name),
            pct(d.share),
            if d.sliver { " <span class=warn>(liten del)</span>" } else { "" },
            on(d.population),
            on(d.residents_in_plan),
            d.omradestyp.map(|t| t.to_string()).unwrap_or("–".into())
        );
    }
    h += "</table><h2>Berörda RegSO</h2><table><tr><th>RegSO</th><th>Andel av ytan</th></tr>";
    for r in &p.regsos {
        h += &format!("<tr><td>{} ({})</td><td class=n>{} %</td></tr>", esc(&r.name), esc(&r.regso), pct(r.share));
    }
    h + "</table>"
}

fn html_indicators(p: &PlanProfile) -> String {
    let mut h = String::from(
        "<h2>Indikatorer</h2><table><tr><th>Indikator</th><th>År</th><th>Planområdet</th><th>Kommunen</th><th>Länet</th><th>Så har värdet beräknats</th></tr>",
    );
    for l in &p.indicators {
        let unit = if l.unit.is_empty() { String::new() } else { format!(" ({})", esc(&l.unit)) };
        let warn = l.warning.as_deref().map(|w| format!("<br><span class=warn>{}</span>", esc(w))).unwrap_or_default();
        h += &format!(
            "<tr><td>{}{unit}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=muted>{}; {}{warn}</td></tr>",
            esc(&l.line.label_sv),
            l.line.year,
            n(l.line.value),
            on(l.line.municipality),
            on(l.line.county),
            esc(l.method_sv),
            esc(&l.line.source)
        );
    }
    h + "</table>"
}

fn html_safety(p: &PlanProfile) -> String {
    let mut h = format!(
        "<h2>Boende</h2><p>Dominerande upplåtelseform: <b>{}</b> · Andel hyresrätt: {} % · Trångboddhet: {}</p>",
        esc(&p.housing.dominant_tenure),
        on(p.housing.rental_share_pct),
        p.housing.crowding_class.unwrap_or("–")
    );
    h += &format!("<h2>Händelser och hotspots</h2><p>Händelser med punktläge inom planområdet: <b>{}</b></p><table><tr><th>Kategori</th><th>Antal</th><th>Per 1 000 invånare</th></tr>", p.incidents_total.map(|n| n.to_string()).unwrap_or("–".into()));
    for c in &p.incidents_by_category {
        h += &format!(
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(c.label_sv),
            c.count.map(|n| n.to_string()).unwrap_or("–".into()),
            on(c.per_1000)
        );
    }
    h += "</table><table><tr><th>DeSO</th><th>Gi* z</th><th>Konfidensklass</th></tr>";
    for s in &p.hotspots {
        h += &format!("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", esc(&s.deso), n(s.gi_z), s.gi_bin);
    }
    h += "</table><h2>Polisens utsatta områden</h2>";
    if p.police_areas.is_empty() {
        h += "<p>Planområdet överlappar inget av polisens utsatta områden i underlaget.</p>";
    }
    for o in &p.police_areas {
        h += &format!("<p>{} ({}, sedan {}): {} % av planområdet.</p>", esc(&o.name), esc(&o.class), esc(&o.since), n(o.share_pct));
    }
    h
}

/// The headings of a social konsekvensanalys (after Boverket's and SKR's aspects), each with
/// the facts that bear on it and room for the planner's judgement.
fn html_ska(p: &PlanProfile) -> String {
    let fact = |name: &str| p.indicators.iter().find(|l| l.line.indicator == name).map(|l| format!("{}: {}", esc(&l.line.label_sv), n(l.line.value)));
    let facts = |names: &[&str]| names.iter().filter_map(|n| fact(*n)).collect::<Vec<_>>().join(" · ");
    let sections: [(&str, String); 6] = [
        ("Sammanhållen stad och möten", facts(&["foreign", "single", "flats"])),
        ("Jämlika livsvillkor och vardagsliv", facts(&["low_econ", "income_med", "employment", "higher_ed", "unemp"])),
        ("Boende och boendemiljö", format!("{} · upplåtelseform {}", facts(&["renters", "crowding_pct"]), esc(&p.housing.dominant_tenure))),
        (
            "Trygghet och säkerhet",
            format!(
                "{} händelser inom planområdet; {} utsatta områden berörs",
                p.incidents_total.map(|n| n.to_string()).unwrap_or("–".into()),
                p.police_areas.len()
            ),
        ),
        ("Barns och ungas perspektiv", facts(&["young"])),
        ("Jämställdhet och tillgänglighet", "Underlag saknas i lägesbilden: komplettera med trygghetsmätningar uppdelade på kön och ålder.".into()),
    ];
    let mut h = String::from(
        "<h1 class=ska>Social konsekvensanalys – underlag</h1><p class=muted>Fakta är ifyllda ur lägesbilden; bedömningarna görs av planeraren.</p>",
    );
    for (title, fact) in sections {
        h += &format!("<h2>{title}</h2><p><b>Fakta:</b> {}</p><p><b>Bedömning:</b></p><div class=judge></div><p><b>Åtgärder och uppföljning:</b></p><div class=judge></div>", if fact.trim().is_empty() { "–".into() } else { fact });
    }
    h
}

/// The printable profile followed by the konsekvensanalys starting document, self-contained.
pub fn to_html(p: &PlanProfile) -> String {
    let mut h = format!(
        r#"<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Social lägesbild: {name}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}td.n{{text-align:right}}.muted{{color:#666}}.warn{{color:#8a4b00}}.judge{{border:1px solid #999;min-height:5em;margin-bottom:1em}}@media print{{body{{margin:0}}h1.ska{{page-break-before:always}}}}</style></head><body>
<h1>Social lägesbild: {name}</h1><p class="muted">{km2} km², kommun {kommun}, DeSO {ver}. Skapad {gen}.</p>
<p>Befolkning (uppskattad): <b>{pop}</b> <span class=muted>({method})</span></p>"#,
        name = esc(&p.name),
        km2 = n(p.area_km2),
        kommun = esc(&p.kommun),
        ver = esc(&p.deso_version),
        gen = esc(&p.generated),
        pop = on(p.population),
        method = esc(p.population_method),
    );
    for w in &p.warnings {
        h += &format!("<p class=warn><b>Obs:</b> {}</p>", esc(w));
    }
    h += &html_areas(p);
    if !p.omradestyp.is_empty() {
        h += "<h2>Områdestyp</h2><ul>";
        for t in &p.omradestyp {
            h += &format!("<li>{} – {}: {} invånare i planområdet</li>", t.omradestyp, esc(t.label_sv), n(t.residents_in_plan));
        }
        h += "</ul>";
    }
    h += &html_indicators(p);
    h += &html_safety(p);
    h += "<h2>Noter</h2><ul>";
    for note in &p.notes {
        h += &format!("<li>{}</li>", esc(note));
    }
    h += "</ul>";
    h += &html_ska(p);
    h + "<p class=muted>Källa: SCB (DeSO, RegSO, statistik), Polisen (utsatta områden). Beräknat med lagesbild.</p></body></html>"
}
