mod common;
mod equivalence;
mod prepare;
mod schema_gen;
mod validate;
