#!/usr/bin/env bash
# Makes the example reports in docs/examples/ from the demo data, as the EST group would: the
# imports of .ci/demo, two insatser, a bedömning and the year's orsaksanalys entered over the
# API, then the October 2026 EST report and the yearly lägesbild 2026 as PDF.
# Run from the repository root after `cargo build`: bash docs/examples/make-examples.sh
set -euo pipefail
B=${B:-target/debug/lagesbild}
D=$(mktemp -d)
trap 'if [ -n "${SRV:-}" ]; then kill "$SRV" 2>/dev/null || true; fi; rm -rf "$D"' EXIT
export LAGESBILD_STORE=$D/demo.gpkg
$B import areas geodata/sollentuna_deso2025.geojson
$B import indicators geodata/sollentuna_deso2025_indicators.csv --year 2024 \
   --column-year pop=2025,young=2025,foreign=2025,higher_ed=2025 --source "SCB via am-dashboard-se"
$B import indicators geodata/sollentuna_crowding_ILLUSTRATIVE.csv --source "ILLUSTRATIV, ej SCB-data (geodata/README.md)"
$B import indicators geodata/baseline_2021_ILLUSTRATIVE.csv --source "ILLUSTRATIV basår 2021, ej SCB-data (geodata/README.md)"
$B import incidents geodata/incidents_synthetic_sollentuna.csv --crs EPSG:3006
$B import incidents geodata/polisen_events_sollentuna.geojson --reported-by polis
$B import places geodata/kommundelar_sollentuna_ILLUSTRATIVE.geojson --kind kommundel
$B import places geodata/platser_sollentuna_ILLUSTRATIVE.geojson --kind plats
$B import places geodata/insatsomraden_sollentuna_ILLUSTRATIVE.geojson --kind insatsområde
$B classify omradestyp --key geodata/koppling-deso2018-regso2020.csv --types geodata/regso_socioekonomisk_index_2023.csv
PORT=${PORT:-18089}
LAGESBILD_TOKENS=editor:example-editor $B serve --bind 127.0.0.1:$PORT --goals geodata/goals_sollentuna.json &
SRV=$!
until curl -sf http://127.0.0.1:$PORT/health | grep -q '"ok"'; do sleep 0.5; done
H=(-H "Authorization: Bearer example-editor" -H "Content-Type: application/json")
U=http://127.0.0.1:$PORT
curl -sf "${H[@]}" -X POST $U/api/actions -d '{"title":"Förstärkt belysning och väktare vid Sollentuna station","area":"Sollentuna station","problem":"Skadegörelse och otrygghet kvällstid","responsible":"Tekniska kontoret och Securitas","start":"2026-06-01","end":"2026-09-30","desired_result":"Färre rapporter om skadegörelse kvällstid","outcome":"Belysning bytt i juni; väktare fredag–lördag","status":"done","level":"general"}' >/dev/null
curl -sf "${H[@]}" -X POST $U/api/actions -d '{"title":"Fältassistenter och föreningsaktiviteter i Bagarby","area":"Bagarby","problem":"Otrygghetsskapande samlingar av unga","responsible":"Kultur- och fritidsförvaltningen","start":"2026-08-15","desired_result":"Fler unga i organiserad fritid","status":"ongoing","level":"group"}' >/dev/null
curl -sf "${H[@]}" -X PUT $U/api/est/0163C1170/2026-W42 -d '{"status":"red","comment":"Fältassistenterna rapporterar oro efter helgen"}' >/dev/null
curl -sf "${H[@]}" -X PUT $U/api/orsaksanalys/2026 -d '{"text":"EXEMPEL. Orsaksanalysen skrivs av kommunen och polisen tillsammans. Här sammanfattas vad EST-gruppen och Fördjupningen ser som orsaker: trångboddhet och få mötesplatser för unga i Bagarby, öppen narkotikahandel nära Sollentuna station, och otrygga stråk med dålig belysning."}' >/dev/null
kill $SRV; wait $SRV 2>/dev/null || true; SRV=
$B report est --period 2026-10 --format pdf --output docs/examples/est-2026-10.pdf --uso geodata/uso2025_sollentuna_jarva_subset.geojson
$B report lagesbild --year 2026 --format pdf --output docs/examples/lagesbild-2026.pdf \
   --uso geodata/uso2025_sollentuna_jarva_subset.geojson --goals geodata/goals_sollentuna.json
