//! Build script: compiles the fused-optimiser shim against libtorch, bakes libtorch's library
//! directory into the binary's rpath, forces `libtorch_cuda.so` to load, records the version.
//! Every way this can fail stops the build with a message that says what to set.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "macos" {
        panic!(
            "dldl-meta builds on Linux and macOS only (target OS `{os}`): torch-sys reports libtorch's \
             library directory and the shim's compiler flags only there"
        );
    }
    let lib = libtorch_lib_dir();
    compile_shim(&lib, &cxx11_abi());
    link_args(&os, &lib);
    println!("cargo:rustc-env=DLDL_LIBTORCH_VERSION={}", libtorch_version(&lib));
}

/// libtorch's `lib/` directory as torch-sys found it (`cargo:libtorch_lib`, which Cargo hands to
/// this crate as `DEP_TCH_LIBTORCH_LIB` because torch-sys's `links` key is `tch`).
fn libtorch_lib_dir() -> PathBuf {
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        panic!(
            "DEP_TCH_LIBTORCH_LIB is not set: torch-sys (a direct dependency) did not report \
             libtorch's library directory. Set LIBTORCH to a libtorch or PyPI torch directory \
             (e.g. LIBTORCH=$PWD/.libtorch after `make setup`) or LIBTORCH_USE_PYTORCH=1 in the venv"
        );
    };
    let lib = PathBuf::from(lib);
    if !lib.is_dir() {
        panic!("libtorch's library directory {} (DEP_TCH_LIBTORCH_LIB) does not exist", lib.display());
    }
    lib
}

/// The `_GLIBCXX_USE_CXX11_ABI` value torch-sys compiles with: Python's answer under
/// `LIBTORCH_USE_PYTORCH`, else `LIBTORCH_CXX11_ABI`, default `1` (PyPI's torch ≥ 2.7).
/// The shim must use the same value or it links against symbols libtorch does not have.
fn cxx11_abi() -> String {
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        return python_cxx11_abi();
    }
    match std::env::var("LIBTORCH_CXX11_ABI").as_deref() {
        Err(_) => "1".to_string(),
        Ok(value @ ("0" | "1")) => value.to_string(),
        Ok(other) => panic!("LIBTORCH_CXX11_ABI = {other:?}: must be 0 or 1 (torch-sys's rule)"),
    }
}

/// `torch._C._GLIBCXX_USE_CXX11_ABI` from the Python torch-sys uses (`python` in a venv, else `python3`).
fn python_cxx11_abi() -> String {
    let python = if std::env::var_os("VIRTUAL_ENV").is_some() { "python" } else { "python3" };
    let output = Command::new(python)
        .args(["-c", "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "LIBTORCH_USE_PYTORCH is set but `{python}` could not be run to read torch's C++11 ABI: {e}"
            )
        });
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match answer.as_str() {
        "0" | "1" => answer,
        _ => panic!(
            "LIBTORCH_USE_PYTORCH is set but `{python}` did not report torch's C++11 ABI (stdout {answer:?}, stderr {:?})",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// `csrc/fused_optimizer.cpp` with the flags torch-sys uses for its own C++ (libtorch's headers
/// sit in `include/` next to `lib/`).
fn compile_shim(lib: &Path, abi: &str) {
    println!("cargo:rerun-if-changed=csrc/fused_optimizer.cpp");
    let include = lib.join("..").join("include");
    let aten = include.join("ATen").join("ops").join("_fused_adam.h");
    if !aten.is_file() {
        panic!(
            "{} is missing: the fused-optimiser shim needs libtorch's C++ headers next to its library \
             directory {} (a PyPI torch or a libtorch download has them)",
            aten.display(),
            lib.display()
        );
    }
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(include.join("torch").join("csrc").join("api").join("include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("csrc/fused_optimizer.cpp")
        .compile("dldl_fused_optimizer");
}

/// The rpath to libtorch on both systems; on Linux also `--no-as-needed -ltorch`, without which
/// the linker drops libtorch (and with it the CUDA library) because no symbol of it is referenced
/// directly. macOS's linker keeps every listed library and has no CUDA build of libtorch.
fn link_args(os: &str, lib: &Path) {
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if os == "linux" {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}

/// `__version__` of the torch package around `lib/` (PyPI layout), else `unknown`.
fn libtorch_version(lib: &Path) -> String {
    let version_file = lib.join("..").join("version.py");
    std::fs::read_to_string(version_file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("__version__ = ").map(|v| v.trim_matches(['\'', '"']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".to_string())
}
