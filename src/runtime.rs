//! The machine a run uses: device selection (`auto`, `cpu`, `cuda[:N]`), the CPU thread count
//! and its bounds, and the versions that every run directory records.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use tch::Device;

/// A requested device, resolved against what this machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA device 0 when available, else the CPU.
    Auto,
    Cpu,
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let rule = "expected auto, cpu, cuda or cuda:N";
        match text.trim() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| Error::invalid("device", text, rule)),
        }
    }
}

impl DeviceChoice {
    /// The tch device; asking for CUDA where there is none (or too few GPUs) is an error.
    pub fn resolve(self) -> Result<Device> {
        let gpus = tch::Cuda::device_count().max(0) as usize;
        match self {
            DeviceChoice::Auto => Ok(if gpus > 0 { Device::Cuda(0) } else { Device::Cpu }),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) if n < gpus => Ok(Device::Cuda(n)),
            DeviceChoice::Cuda(n) => Err(Error::invalid(
                "device",
                format!("cuda:{n}"),
                format!("this machine has {gpus} CUDA device(s); use --device cpu or auto"),
            )),
        }
    }
}

/// `--threads` may ask for at most this many threads per available core: libtorch starts one
/// OpenMP worker per thread (and more pools besides), so a huge count exhausts the process table.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The cores this process may use (affinity and cgroup quota included), at least 1.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks a requested libtorch CPU thread count against `cores`: it must lie in
/// `1..=MAX_THREADS_PER_CORE × cores`. Returns a warning to print when it exceeds the cores.
pub fn check_threads(threads: i64, cores: usize) -> Result<Option<String>> {
    let max = MAX_THREADS_PER_CORE * cores;
    if threads < 1 || threads > max as i64 {
        return Err(Error::invalid(
            "threads",
            threads,
            format!("must be between 1 and {max} ({MAX_THREADS_PER_CORE} × the {cores} core(s) available to this process)"),
        ));
    }
    Ok((threads as usize > cores).then(|| {
        format!("--threads {threads} exceeds the {cores} core(s) available: threads will wait for each other; use at most {cores}")
    }))
}

/// Sets libtorch's CPU thread count after [`check_threads`] against this machine's cores; returns
/// its warning, if any.
pub fn set_threads(threads: i64) -> Result<Option<String>> {
    let warning = check_threads(threads, available_cores())?;
    tch::set_num_threads(threads as i32);
    Ok(warning)
}

/// glibc malloc settings applied at start-up by [`tune_allocator`] (and given to the PyTorch-Python
/// reference benchmark): blocks up to 256 MiB come from the heap and freed memory stays in the
/// process, so the tensors of each training step do not page-fault fresh memory. `dldl-meta bench`
/// measured small-batch steps 1.4–2× faster with them, PyTorch-Python likewise. 256 MiB, not
/// 32 MiB: the gradient of a population's first fully connected layer passes 32 MiB from 16 heads
/// of 2,048 × 256 (a UTKFace CNN's head, or a head on its exported features), and each step then
/// mapped and faulted it afresh (a few-shot run on features spent a third of its time in the kernel).
pub const ALLOCATOR_SETTINGS: [(&str, i32); 2] =
    [("MALLOC_MMAP_THRESHOLD_", 256 << 20), ("MALLOC_TRIM_THRESHOLD_", 1 << 30)];

/// Applies [`ALLOCATOR_SETTINGS`] (glibc on Linux only) unless the environment sets either
/// variable itself, in which case glibc already follows the environment.
pub fn tune_allocator() {
    if ALLOCATOR_SETTINGS.iter().any(|(name, _)| std::env::var_os(name).is_some()) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is called once at start-up.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, ALLOCATOR_SETTINGS[0].1);
        libc::mallopt(libc::M_TRIM_THRESHOLD, ALLOCATOR_SETTINGS[1].1);
    }
}

/// Versions and machine facts recorded with every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnvironment {
    pub dldl_meta: String,
    pub tch: String,
    pub libtorch: String,
    pub device: String,
    pub cuda_devices: i64,
    pub threads: i32,
}

impl RunEnvironment {
    /// The environment of this process running on `device`.
    pub fn current(device: Device) -> Self {
        RunEnvironment {
            dldl_meta: env!("CARGO_PKG_VERSION").to_string(),
            tch: "0.24.0".to_string(),
            libtorch: option_env!("DLDL_LIBTORCH_VERSION").unwrap_or("unknown").to_string(),
            device: format!("{device:?}"),
            cuda_devices: tch::Cuda::device_count(),
            threads: tch::get_num_threads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices_and_refuses_missing_cuda() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda:1".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(1));
        assert!("gpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        let gpus = tch::Cuda::device_count() as usize;
        assert!(DeviceChoice::Cuda(gpus).resolve().is_err());
    }

    #[test]
    fn thread_counts_are_bounded_by_the_cores() {
        assert_eq!(check_threads(2, 2).unwrap(), None);
        assert_eq!(check_threads(1, 16).unwrap(), None);
        let warning = check_threads(3, 2).unwrap().expect("a warning above the cores");
        assert!(warning.contains("2 core(s)"), "{warning}");
        assert!(check_threads(8, 2).unwrap().is_some());
        for bad in [0, -1, 9, 100_000] {
            let err = check_threads(bad, 2).unwrap_err().to_string();
            assert!(
                err.contains(&format!("invalid threads = {bad}")) && err.contains("between 1 and 8"),
                "{err}"
            );
        }
    }

    #[test]
    fn records_the_libtorch_version_it_was_built_with() {
        assert!(RunEnvironment::current(Device::Cpu).libtorch.starts_with("2.11.0"));
    }
}
