mod schema_gen;
