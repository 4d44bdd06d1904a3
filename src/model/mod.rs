//! Networks with a population axis: P members with their own weights run as one stacked network
//! (grouped `conv2d`, `baddbmm`); P = 1 is the ordinary case on the same code path.
pub mod dropout;
pub mod freeze;
pub mod init;
pub mod layers;
pub mod network;
pub mod params;

pub use dropout::{DropoutSpec, DropoutStream};
pub use freeze::Freeze;
pub use network::{Network, NetworkSpec, Pass};
pub use params::Params;
