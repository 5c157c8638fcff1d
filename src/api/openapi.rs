//! The OpenAPI 3 document, generated from the route table below with utoipa's builders, so the
//! document and the router list the same endpoints and parameters.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, Required, ResponseBuilder, ResponsesBuilder};

/// (path, summary in Swedish, path parameters, query parameters)
pub const ROUTES: &[(&str, &str, &[&str], &[&str])] = &[
    ("/", "Startsida (OGC API)", &[], &["f"]),
    ("/conformance", "Konformitetsklasser", &[], &["f"]),
    ("/collections", "Samlingar", &[], &["f"]),
    ("/collections/{collectionId}", "En samling", &["collectionId"], &["f"]),
    ("/collections/{collectionId}/items", "Objekt i en samling (GeoJSON)", &["collectionId"], &["limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"]),
    ("/collections/{collectionId}/items/{featureId}", "Ett objekt", &["collectionId", "featureId"], &["crs", "f"]),
    ("/collections/{collectionId}/download", "Hela samlingen som GeoPackage, GeoJSON eller CSV", &["collectionId"], &["format"]),
    ("/tiles/{collectionId}/tilejson.json", "TileJSON 3.0", &["collectionId"], &[]),
    ("/tiles/{collectionId}/{z}/{x}/{y}.mvt", "Vektortiler (MVT)", &["collectionId", "z", "x", "y"], &[]),
    ("/tileMatrixSets", "Rutnät för tiler (OGC API – Tiles)", &[], &["f"]),
    ("/tileMatrixSets/{tileMatrixSetId}", "Definition av ett rutnät (WebMercatorQuad)", &["tileMatrixSetId"], &["f"]),
    ("/collections/{collectionId}/tiles", "En samlings tileset (OGC API – Tiles)", &["collectionId"], &["f"]),
    ("/collections/{collectionId}/tiles/{tileMatrixSetId}", "Ett tileset med gränser och länkar", &["collectionId", "tileMatrixSetId"], &["f"]),
    (
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "En vektortile (MVT); rad före kolumn",
        &["collectionId", "tileMatrixSetId", "tileMatrix", "tileRow", "tileCol"],
        &["f"],
    ),
    (
        "/analysis/{kind}",
        "Analys på begäran: hotspots, density, emerging, lisa",
        &["kind"],
        &["from", "to", "categories", "cell", "band", "radius", "step_days", "indicator", "tolerance", "permutations", "seed", "alpha"],
    ),
    ("/api/profile/{area}", "Områdesprofil (social lägesbild)", &["area"], &["format"]),
    ("/api/areas", "DeSO med indikatorer (GeoJSON)", &[], &["kommun"]),
    ("/api/indicators", "Indikatorkatalog: etikett, enhet, aggregering och år för varje indikator i lagret", &[], &[]),
    ("/api/surveys", "Enkätresultat med konfidensintervall, kvinnor och män sida vid sida", &[], &["area", "question"]),
    ("/api/search", "Sök plats: RegSO, DeSO-kod, polisens område, kommun, vandring", &[], &["q", "limit"]),
    ("/api/labels", "Etikettpunkter och länsgräns (GeoJSON)", &[], &[]),
    ("/fonts/{fontstack}/{range}.pbf", "Glyfer för kartetiketter (SDF, protobuf)", &["fontstack", "range"], &[]),
    ("/basemap/style.json", "Kartstil med bakgrundskarta, glyfer och attribution", &[], &[]),
    ("/basemap/tilejson.json", "TileJSON för bakgrundskartan", &[], &[]),
    ("/basemap/{z}/{x}/{y}", "Tiler ur en lokal MBTiles-bakgrundskarta", &["z", "x", "y"], &[]),
    ("/health", "Hälsa", &[], &[]),
    ("/api/auth/me", "Den inloggades roll och namn", &[], &[]),
    ("/api/auth/config", "Inloggningsinställningar för kartan (OpenID Connect, endast publik information)", &[], &[]),
    ("/walks", "Trygghetsvandringar (GET lista, POST ny: editor)", &[], &["status", "area", "from", "to"]),
    ("/walks/suggest", "Föreslagna stopp för en vandring", &[], &["area", "start", "from", "to"]),
    ("/walks/{walkId}", "En vandring (GET; PUT/DELETE med If-Match: editor)", &["walkId"], &[]),
    ("/walks/{walkId}/observations", "Observationer längs en vandring (GET; POST: editor)", &["walkId"], &[]),
    ("/walks/{walkId}/report", "Rapport för en vandring", &["walkId"], &["format", "buffer", "from", "to"]),
    ("/observations", "Observationer att följa upp (försenade först)", &[], &["status", "responsible", "open", "overdue"]),
    ("/observations/{observationId}", "En observation (GET; PUT/DELETE med If-Match: editor)", &["observationId"], &[]),
    ("/observations/{observationId}/history", "Ändringslogg för en observation (partner och uppåt)", &["observationId"], &[]),
    ("/observations/{observationId}/photo", "Foto (GET: partner; PUT JPEG/PNG med If-Match: editor)", &["observationId"], &[]),
    ("/api/est", "Läget vecka N (EST): beräknad status och bedömning per område", &[], &["week", "level"]),
    ("/api/est/{area}/{week}", "Ett områdes vecka: beräknad status, bedömning och historik (PUT: editor)", &["area", "week"], &[]),
    ("/api/actions", "Åtgärdsplanens insatser (GET: analyst; POST: editor)", &[], &["status", "area"]),
    ("/api/actions/{actionId}", "En insats (GET; PUT/DELETE med If-Match: editor)", &["actionId"], &[]),
    ("/api/actions/{actionId}/followup", "Händelser i insatsens område före och efter start", &["actionId"], &[]),
    ("/api/orsaksanalys/{year}", "Årets orsaksanalys (GET: analyst; PUT: editor)", &["year"], &[]),
    ("/api/reports/{kind}", "Rapporter: est (period) och lagesbild (år), HTML, PDF eller JSON (analyst)", &["kind"], &["period", "year", "format"]),
];

/// Write methods besides GET, by path (the router has the same).
const WRITES: &[(&str, &[HttpMethod])] = &[
    ("/walks", &[HttpMethod::Post]),
    ("/walks/{walkId}", &[HttpMethod::Put, HttpMethod::Delete]),
    ("/walks/{walkId}/observations", &[HttpMethod::Post]),
    ("/observations/{observationId}", &[HttpMethod::Put, HttpMethod::Delete]),
    ("/observations/{observationId}/photo", &[HttpMethod::Put]),
    ("/api/est/{area}/{week}", &[HttpMethod::Put]),
    ("/api/actions", &[HttpMethod::Post]),
    ("/api/actions/{actionId}", &[HttpMethod::Put, HttpMethod::Delete]),
    ("/api/orsaksanalys/{year}", &[HttpMethod::Put]),
];

pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (path, summary, pparams, qparams) in ROUTES {
        let mut op = OperationBuilder::new().summary(Some(*summary)).responses(
            ResponsesBuilder::new()
                .response("200", ResponseBuilder::new().description("OK"))
                .response("400", ResponseBuilder::new().description("Felaktig parameter (JSON: code, description)"))
                .response("401", ResponseBuilder::new().description("Token krävs"))
                .response("403", ResponseBuilder::new().description("Rollen räcker inte"))
                .response("404", ResponseBuilder::new().description("Finns inte"))
                .response("503", ResponseBuilder::new().description("Identitetsleverantören svarar inte (förfrågningar med token)"))
                .build(),
        );
        for p in *pparams {
            op = op.parameter(ParameterBuilder::new().name(*p).parameter_in(ParameterIn::Path).required(Required::True));
        }
        for q in *qparams {
            op = op.parameter(ParameterBuilder::new().name(*q).parameter_in(ParameterIn::Query).required(Required::False));
        }
        let op = op.build();
        let mut item = PathItem::new(HttpMethod::Get, op.clone());
        for (p, methods) in WRITES {
            if p == path {
                for m in methods.iter() {
                    let mut w = op.clone();
                    let name = match m {
                        HttpMethod::Post => "POST",
                        HttpMethod::Put => "PUT",
                        HttpMethod::Delete => "DELETE",
                        _ => "GET",
                    };
                    w.summary = Some(format!("{summary} – {name}"));
                    w.parameters.get_or_insert_with(Vec::new).push(
                        ParameterBuilder::new()
                            .name("If-Match")
                            .parameter_in(ParameterIn::Header)
                            .required(if matches!(m, HttpMethod::Post) { Required::False } else { Required::True })
                            .build(),
                    );
                    let extra = PathItem::new(m.clone(), w);
                    item.merge_operations(extra);
                }
            }
        }
        paths = paths.path(*path, item);
    }
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("lagesbild").version(env!("CARGO_PKG_VERSION")).description(Some("Lägesbild för kommuner: OGC API – Features (del 1 och 2), vektortiler, analyser. Skicka 'Authorization: Bearer TOKEN' för begränsade data.")).build())
        .paths(paths.build())
        .build()
}
