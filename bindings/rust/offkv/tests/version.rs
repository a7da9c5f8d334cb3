//! The crates' version is capi/offkv.h's OFFKV_VERSION_STRING (the one source):
//! Cargo needs a literal, so this fails when the two differ.

fn header_version() -> &'static str {
    let bytes: &[u8] = offkv_sys::OFFKV_VERSION_STRING;
    std::str::from_utf8(bytes.strip_suffix(b"\0").unwrap_or(bytes)).expect("UTF-8")
}

#[test]
fn workspace_version_is_the_headers() {
    assert_eq!(
        env!("CARGO_PKG_VERSION"),
        header_version(),
        "bindings/rust/Cargo.toml's workspace version differs from OFFKV_VERSION_STRING"
    );
}

#[test]
fn offkv_sys_requirement_is_the_headers() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let text = std::fs::read_to_string(manifest).expect("offkv's Cargo.toml");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("offkv-sys"))
        .expect("an offkv-sys dependency");
    let wanted = format!("version = \"{}\"", header_version());
    assert!(line.contains(&wanted), "{manifest}: {line} (want {wanted})");
}

#[test]
fn loaded_library_is_the_headers() {
    assert_eq!(offkv::version_string(), header_version());
}
