//! The request model: the generated Vertex schema, the prose rules, the whole-job checks, the
//! finding codes, and the walk that applies them to one parsed line.

pub mod canon;
pub mod diag;
pub mod fields;
pub mod formats;
pub mod job;
pub mod limits;
pub mod locate;
pub mod path;
pub mod prompt;
pub mod rules;
pub mod schema;
pub mod schema_types;
pub mod value;
pub mod walk;
