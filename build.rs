//! Build script: compiles the fused-optimiser shim against libtorch, bakes libtorch's library
//! directory into the binary's rpath, forces `libtorch_cuda.so` to load, records the version.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else { return };
    compile_shim(Path::new(&lib));
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

/// `csrc/fused_optimizer.cpp` with the flags torch-sys uses for its own C++ (libtorch's headers
/// sit in `include/` next to `lib/`; PyPI's torch ≥ 2.7 uses the C++11 ABI).
fn compile_shim(lib: &Path) {
    println!("cargo:rerun-if-changed=csrc/fused_optimizer.cpp");
    let include = lib.join("..").join("include");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(include.join("torch").join("csrc").join("api").join("include"))
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("csrc/fused_optimizer.cpp")
        .compile("dldl_fused_optimizer");
}
