mod common;
mod equivalence;
mod mutation;
mod prepare;
mod schema_gen;
mod tokens;
mod validate;
