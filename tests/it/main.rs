mod common;
mod equivalence;
mod prepare;
mod schema_gen;
mod tokens;
mod validate;
