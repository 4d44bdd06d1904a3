//! `dldl-meta info`: versions, the libtorch build and the devices this binary can use.
//! The first thing to run on a new machine, and what the device checks print.
use dldl_meta::runtime::{DeviceChoice, RunEnvironment};

/// Prints the run environment as JSON (the same record every run directory keeps).
pub fn run() -> anyhow::Result<()> {
    let device = DeviceChoice::Auto.resolve()?;
    let env = RunEnvironment::current(device);
    println!("{}", serde_json::to_string_pretty(&env)?);
    println!(
        "cuda available: {}, cudnn available: {}",
        tch::Cuda::is_available(),
        tch::Cuda::cudnn_is_available()
    );
    Ok(())
}
