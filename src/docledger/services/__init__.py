"""Operations that span aggregates: schema management, ingest, search, lineage, maintenance."""
