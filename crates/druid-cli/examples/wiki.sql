REPLACE INTO "wiki_cli" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS __time, "page", "added"
FROM TABLE(EXTERN(
  '{"type":"inline","data":"ts,page,added\n2024-01-01T00:00:00Z,Rust,10\n2024-01-01T01:00:00Z,Druid,32\n2024-01-02T00:00:00Z,Rust,5\n"}',
  '{"type":"csv","findColumnsFromHeader":true}',
  '[{"name":"ts","type":"string"},{"name":"page","type":"string"},{"name":"added","type":"long"}]'
))
PARTITIONED BY DAY
