//! Spatial indexes and joins in SWEREF 99 TM.

mod join;

pub use join::{AreaIndex, JoinResult};
