"""Storage: schema, engine, migrations."""
