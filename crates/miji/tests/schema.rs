//! The committed `schema/report.v1.json` must equal the schema generated from the report types.
//! Regenerate with `MIJI_UPDATE_SCHEMA=1 cargo test -p miji --test schema`.

use std::path::PathBuf;

#[test]
fn committed_schema_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/report.v1.json");
    let generated = miji::report_json_schema();
    if std::env::var_os("MIJI_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/report.v1.json is stale: run MIJI_UPDATE_SCHEMA=1 cargo test -p miji --test schema"
    );
}
