//! Reference layers read from files at start: Polisens utsatta områden and the municipality
//! outlines.

use super::{feat, Access, Collection, Context, GeometryKind, Layer, LayerInfo};
use crate::classify::goals::PoliceArea;
use crate::privacy::Role;
use serde_json::Map;

/// `police_areas` (`serve --police-areas`).
pub struct PoliceAreas(pub Vec<PoliceArea>);

impl Layer for PoliceAreas {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("police_areas", "Polisens utsatta områden", GeometryKind::Polygon, 8)
    }

    fn features(&self, _cx: &Context, _role: Role) -> Option<Collection> {
        let feats = self
            .0
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let mut p = Map::new();
                p.insert("name".into(), a.name.clone().into());
                p.insert("class".into(), a.class.clone().into());
                p.insert("since".into(), a.since.clone().into());
                feat(format!("uso{}", k + 1), p, a.geometry.clone().into(), None)
            })
            .collect();
        Some(Collection::new("police_areas", "Polisens utsatta områden", "Källa: Polisen.".into(), Access::Open, vec![], feats))
    }
}

/// `municipalities` (`serve --boundaries`): code, name, polygon in EPSG:3006.
pub struct Municipalities(pub Vec<(String, String, geo::MultiPolygon<f64>)>);

impl Layer for Municipalities {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("municipalities", "Kommungränser", GeometryKind::Polygon, 4)
    }

    fn features(&self, _cx: &Context, _role: Role) -> Option<Collection> {
        let feats = self
            .0
            .iter()
            .map(|(code, name, g)| {
                let mut p = Map::new();
                p.insert("kommun".into(), code.clone().into());
                p.insert("name".into(), name.clone().into());
                feat(code.clone(), p, g.clone().into(), None)
            })
            .collect();
        Some(Collection::new("municipalities", "Kommungränser", "Generaliserade kommungränser. Källa: SCB.".into(), Access::Open, vec![], feats))
    }
}
