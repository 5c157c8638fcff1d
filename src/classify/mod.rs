//! Area classifications and the lägesbild: områdestyp, composite index, housing classes, EST
//! weekly status, goal tracking. No HTTP in here; the profile (`crate::profile`) assembles them.

pub mod est;
pub mod goals;
pub mod housing;
pub mod index;
pub mod omradestyp;
