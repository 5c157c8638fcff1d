//! `incidents`: the picture's incident points (point precision only) with their DeSO. Raw to
//! analysts and up, snapped to 250 m for partners, refused to the public (see [`super::view`]).

use super::{feat, Access, Building, Collection, Context, Feat, GeometryKind, Layer, LayerInfo};
use crate::picture::AreaPicture;
use crate::privacy::Role;
use serde_json::{json, Map};

pub struct Incidents;

impl Layer for Incidents {
    fn info(&self) -> LayerInfo {
        // A feature per incident (a million at county scale), so built on first use.
        LayerInfo {
            access: Access::Incidents, building: Building::OnFirstUse, ..LayerInfo::open("incidents", "Händelser (begränsad)", GeometryKind::Point, 8)
        }
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        Some(incident_collection(incident_features(&cx.catalog.picture)))
    }

    fn outline(&self, _cx: &Context) -> Option<Collection> {
        let mut c = incident_collection(Vec::new());
        c.parameters = json!({});
        Some(c)
    }
}

fn incident_collection(features: Vec<Feat>) -> Collection {
    let description =
        "Händelser med punktläge. Rådata endast för analytiker; partner ser punkter flyttade till 250 m-rutor; allmänheten ser endast aggregat.".into();
    let mut c = Collection::new("incidents", "Händelser (begränsad)", description, Access::Incidents, vec![], features);
    c.temporal = true;
    c.parameters = json!({"precision": "exact, address, street (area and municipality precision left out)"});
    c
}

fn incident_features(picture: &AreaPicture) -> Vec<Feat> {
    let mut out = Vec::new();
    for (i, j) in picture.incidents.iter().zip(&picture.area_of_incident) {
        if !i.precision.is_point_statistic() {
            continue; // centroid-located events would make a false cluster on the map
        }
        let mut p = Map::new();
        p.insert("category".into(), i.category.as_str().into());
        p.insert("category_sv".into(), i.category.label_sv().into());
        p.insert("occurred_at".into(), crate::model::time::with_offset(i.occurred_at).into());
        p.insert("iso_week".into(), crate::model::iso_week(&i.occurred_at).into());
        p.insert("reported_by".into(), i.reported_by.clone().into());
        p.insert("precision".into(), i.precision.as_str().into());
        p.insert("description".into(), i.description.clone().into());
        p.insert("deso".into(), j.map(|a| picture.areas[a as usize].area.deso.clone()).into());
        out.push(feat(i.id.clone(), p, i.location.into(), Some(i.occurred_at)));
    }
    out
}
