//! Domain types: identifiers that can only hold valid values, vocabularies with German labels and
//! the allowed transitions of each lifecycle.

mod dates;
mod ids;
mod vocab;

pub use dates::{PartialDate, Timestamp};
pub use ids::{Ags, Ars, DistrictKey, InvalidId, LeikaKey, OzgId, Slug};
pub use vocab::*;
