//! Generates the FFI declarations from `capi/offkv.h` with bindgen and tells Cargo how
//! to link liboffkv: found through pkg-config (`offkv.pc`), or built from this
//! repository with CMake when the `bundled` feature is on.

use std::env;
use std::path::PathBuf;

fn main() {
    let include_dirs = if env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        bundled()
    } else {
        installed()
    };

    let header = include_dirs
        .iter()
        .map(|dir| dir.join("offkv.h"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("offkv-sys: offkv.h not found in the include dirs {include_dirs:?}")
        });
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:include={}", header.parent().unwrap().display());

    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args(include_dirs.iter().map(|d| format!("-I{}", d.display())))
        .allowlist_function("offkv_.*")
        .allowlist_type("offkv_.*")
        .allowlist_var("OFFKV_.*")
        // The C enums are used as plain ints in the structs and return values.
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .layout_tests(true)
        .generate_comments(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("offkv-sys: bindgen failed on offkv.h");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("bindings.rs");
    bindings
        .write_to_file(&out)
        .expect("offkv-sys: cannot write the bindings");
}

/// Finds an installed liboffkv through pkg-config; pkg-config emits the link flags.
fn installed() -> Vec<PathBuf> {
    let lib = pkg_config::Config::new()
        .atleast_version("0.1")
        .probe("offkv")
        .unwrap_or_else(|e| {
            panic!(
                "offkv-sys: liboffkv not found through pkg-config ({e}). Install it and put \
                 PREFIX/lib/pkgconfig on PKG_CONFIG_PATH, or enable the `bundled` feature."
            )
        });
    for dir in &lib.link_paths {
        println!("cargo:libdir={}", dir.display());
    }
    lib.include_paths
}

#[cfg(feature = "bundled")]
fn bundled() -> Vec<PathBuf> {
    // bindings/rust/offkv-sys -> the repository root.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../../..");
    assert!(
        root.join("capi/offkv.h").is_file() && root.join("CMakeLists.txt").is_file(),
        "offkv-sys: the `bundled` feature needs the offkv source tree around this crate"
    );
    for dir in ["core", "capi", "cmake"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("CMakeLists.txt").display()
    );
    let on = |feature: &str| {
        if env::var_os(format!("CARGO_FEATURE_{}", feature.to_uppercase())).is_some() {
            "ON"
        } else {
            "OFF"
        }
    };
    let dst = cmake::Config::new(&root)
        .define("OFFKV_BUILD_TESTS", "OFF")
        .define("OFFKV_BUILD_TOOLS", "OFF")
        .define("OFFKV_WITH_ZK", on("zk"))
        .define("OFFKV_WITH_ETCD", on("etcd"))
        .define("OFFKV_WITH_CONSUL", on("consul"))
        .build();
    let mut libdir = dst.join("lib");
    if !libdir.join("pkgconfig/offkv.pc").is_file() && dst.join("lib64").is_dir() {
        libdir = dst.join("lib64");
    }
    println!("cargo:rustc-link-search=native={}", libdir.display());
    println!("cargo:rustc-link-lib=dylib=offkv");
    println!("cargo:libdir={}", libdir.display());
    vec![dst.join("include")]
}

#[cfg(not(feature = "bundled"))]
fn bundled() -> Vec<PathBuf> {
    unreachable!("CARGO_FEATURE_BUNDLED is set only with the bundled feature")
}
