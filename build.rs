//! Build script: bakes libtorch's library directory into the binary's rpath, forces
//! `libtorch_cuda.so` to load, and records the libtorch version for run metadata.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else { return };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // Without --no-as-needed the linker drops libtorch (and with it the CUDA
    // library) because no symbol of it is referenced directly.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    let version_file = Path::new(&lib).join("..").join("version.py");
    let version = std::fs::read_to_string(&version_file)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = ").map(|v| v.trim_matches(['\'', '"']).to_string()))
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=DLDL_LIBTORCH_VERSION={version}");
}
