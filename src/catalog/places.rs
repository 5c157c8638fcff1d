//! `places`: the imported places (`lagesbild import places`) with name, kind, residents,
//! incidents (suppressed like every count) and how they were assigned; present only when the
//! store has places.

use super::{feat, Access, Collection, Context, GeometryKind, Layer, LayerInfo};
use crate::privacy::Role;
use serde_json::Map;

pub struct Places;

impl Layer for Places {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("places", "Egna områden", GeometryKind::Polygon, 8)
    }

    fn present(&self, cx: &Context) -> bool {
        cx.catalog.units.of_level("place").next().is_some()
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        let feats = cx
            .catalog
            .units
            .of_level("place")
            .map(|u| {
                let mut p = Map::new();
                p.insert("name".into(), u.name.clone().into());
                p.insert("kind".into(), u.kind.clone().into());
                p.insert("population".into(), u.population.map(|x| x.round()).into());
                p.insert("incidents".into(), u.incidents.len().into());
                p.insert("incidents_per_1000".into(), u.population.filter(|x| *x > 0.0).map(|x| 1000.0 * u.incidents.len() as f64 / x).into());
                p.insert("method".into(), u.method.clone().into());
                feat(u.name.clone(), p, u.geometry.clone().into(), None)
            })
            .collect();
        let description = "Kommundelar, platser och insatsområden som importerats med lagesbild import places.".into();
        Some(Collection::new("places", "Egna områden", description, Access::Open, vec!["incidents"], feats))
    }
}
