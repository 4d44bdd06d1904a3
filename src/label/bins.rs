//! Label domains: ordered 1-D bins (ages, angles) and 2-D grids (pitch × yaw).
//! A domain maps a continuous label to bin values and to its nearest bin index.
use super::validate;
use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// The most bins a 1-D domain may have, and the most cells a 2-D grid may have.
pub const MAX_BINS: usize = 1_000_000;

/// Ordered label values `l_1 < … < l_C` of a 1-D domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    values: Vec<f64>,
}

impl Bins {
    /// Bins from explicit, strictly increasing, finite values.
    pub fn from_values(values: Vec<f64>) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::invalid("bins", "[]", "need at least one bin"));
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid("bins", v, "bin values must be finite"));
        }
        if values.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::invalid("bins", format!("{values:?}"), "bin values must be strictly increasing"));
        }
        Ok(Bins { values })
    }

    /// Bins `start, start+step, …, end` (inclusive) from `START:END[:STEP]` (step defaults to 1).
    pub fn parse(spec: &str) -> Result<Self> {
        let rule = "expected START:END or START:END:STEP with numbers, START <= END and STEP > 0";
        let parts: Vec<f64> = spec
            .split(':')
            .map(|p| p.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::invalid("bins", spec, rule))?;
        let (start, end, step) = match parts.as_slice() {
            [s, e] => (*s, *e, 1.0),
            [s, e, st] => (*s, *e, *st),
            _ => return Err(Error::invalid("bins", spec, rule)),
        };
        // Counted in f64 first: with a tiny step the count does not fit a usize and would wrap.
        if start.is_finite() && end.is_finite() && step > 0.0 && (end - start) / step >= MAX_BINS as f64 {
            return Err(Error::invalid("bins", spec, format!("at most {MAX_BINS} bins")));
        }
        if !(step > 0.0) || !(start <= end) || !start.is_finite() || !end.is_finite() {
            return Err(Error::invalid("bins", spec, rule));
        }
        let count = ((end - start) / step + 1e-9).floor() as usize + 1;
        if count > 1_000_000 {
            return Err(Error::invalid("bins", spec, "at most 1,000,000 bins"));
        }
        Bins::from_values((0..count).map(|i| start + i as f64 * step).collect())
    }

    /// Number of bins C.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no bins (never true for a constructed domain).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The bin values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The bin values as a `[C]` tensor of `kind` on `device`.
    pub fn tensor(&self, kind: Kind, device: Device) -> Tensor {
        Tensor::from_slice(&self.values).to_kind(kind).to_device(device)
    }

    /// Index of the nearest bin for each label of a `[N]` tensor (ties go to the lower bin).
    pub fn nearest_index(&self, labels: &Tensor) -> Result<Tensor> {
        validate::dims("labels", labels, 1)?;
        let bins = self.tensor(Kind::Double, labels.device());
        let distance = (labels.to_kind(Kind::Double).unsqueeze(1) - bins.unsqueeze(0)).abs();
        Ok(distance.argmin(1, false))
    }
}

/// A 2-D label domain: the grid `axis1 × axis2`, flattened row-major (index `j·C2 + k`).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// First label coordinate (e.g. pitch, or rotation angle).
    pub axis1: Bins,
    /// Second label coordinate (e.g. yaw, or scale).
    pub axis2: Bins,
}

impl Grid {
    /// A grid from `START:END[:STEP],START:END[:STEP]`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (a, b) = spec.split_once(',').ok_or_else(|| {
            Error::invalid("grid", spec, "expected two bin specs separated by a comma, e.g. -90:90:15,-90:90:15")
        })?;
        let grid = Grid { axis1: Bins::parse(a)?, axis2: Bins::parse(b)? };
        if grid.axis1.len().saturating_mul(grid.axis2.len()) > MAX_BINS {
            return Err(Error::invalid("grid", spec, format!("at most {MAX_BINS} cells ({}×{} given)", grid.axis1.len(), grid.axis2.len())));
        }
        Ok(grid)
    }

    /// Number of grid cells C1·C2.
    pub fn len(&self) -> usize {
        self.axis1.len() * self.axis2.len()
    }

    /// Whether the grid has no cells (never true for a constructed grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_inclusive_and_checks_rules() {
        let b = Bins::parse("0:100").unwrap();
        assert_eq!(b.len(), 101);
        assert_eq!(b.values()[100], 100.0);
        let b = Bins::parse("-90:90:15").unwrap();
        assert_eq!(b.len(), 13);
        assert_eq!(b.values()[1], -75.0);
        for bad in ["", "1", "5:1", "0:10:0", "0:10:-1", "a:b", "0:1:2:3", "0:inf"] {
            assert!(Bins::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Bins::from_values(vec![1.0, 1.0]).is_err());
    }

    #[test]
    fn nearest_index_picks_closest_bin() {
        let b = Bins::parse("0:10:2").unwrap();
        let idx = b.nearest_index(&Tensor::from_slice(&[0.0f32, 2.9, 3.1, 100.0, -5.0])).unwrap();
        assert_eq!(Vec::<i64>::try_from(&idx).unwrap(), vec![0, 1, 2, 5, 0]);
    }

    #[test]
    fn sizes_beyond_the_limits_are_refused_before_allocating() {
        for huge in ["0:1:1e-300", "0:1e300", "0:1000000"] {
            let err = Bins::parse(huge).unwrap_err().to_string();
            assert!(err.contains("at most 1000000 bins"), "{huge}: {err}");
        }
        assert_eq!(Bins::parse("0:999999").unwrap().len(), MAX_BINS);
        assert!(Grid::parse("0:999,0:999").is_ok());
        assert!(Grid::parse("0:999999,0:999999").unwrap_err().to_string().contains("1000000×1000000 given"));
    }
}
