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
            return Err(Error::invalid(
                "bins",
                format!("{values:?}"),
                "bin values must be strictly increasing",
            ));
        }
        Ok(Bins { values })
    }

    /// Bins `start, start+step, …, end` (both ends included) from `START:END[:STEP]` (step defaults to 1);
    /// END must be START plus a whole number of STEPs, so that it is a bin.
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
        let steps = (end - start) / step;
        let whole = steps.round();
        if (steps - whole).abs() > 1e-9 * whole.max(1.0) {
            let (below, above) = (start + steps.floor() * step, start + steps.ceil() * step);
            return Err(Error::invalid(
                "bins",
                spec,
                format!("END {end} is not START plus a whole number of STEPs ({step}); {start}:{below}:{step} or {start}:{above}:{step} include both ends"),
            ));
        }
        let count = whole as usize + 1;
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

    /// The nearest bin of `value` (ties go to the lower bin), or why `value` does not belong to the domain:
    /// it must be a finite number at most half a bin step beyond either end (one bin: half a unit).
    pub fn bin_of(&self, value: f64) -> std::result::Result<usize, OutsideDomain> {
        let v = &self.values;
        let (first, last) = (v[0], v[v.len() - 1]);
        let slack = self.slack();
        if !(value >= first - slack && value <= last + slack) {
            return Err(OutsideDomain { value, first, last, slack });
        }
        let idx = v.partition_point(|&b| b < value);
        Ok(match idx {
            0 => 0,
            i if i == v.len() => i - 1,
            i if value - v[i - 1] <= v[i] - value => i - 1,
            i => i,
        })
    }

    /// The label step: the smallest gap between neighbouring bins (1 for a single bin).
    pub fn step(&self) -> f64 {
        self.values.windows(2).map(|w| w[1] - w[0]).reduce(f64::min).unwrap_or(1.0)
    }

    /// How far beyond its ends a label may lie: half the first bin step (half a unit for one bin).
    fn slack(&self) -> f64 {
        match self.values.as_slice() {
            [a, b, ..] => (b - a) / 2.0,
            _ => 0.5,
        }
    }

    /// Index of the nearest bin for each label of a `[N]` tensor (ties go to the lower bin).
    pub fn nearest_index(&self, labels: &Tensor) -> Result<Tensor> {
        validate::dims("labels", labels, 1)?;
        let bins = self.tensor(Kind::Double, labels.device());
        let distance = (labels.to_kind(Kind::Double).unsqueeze(1) - bins.unsqueeze(0)).abs();
        Ok(distance.argmin(1, false))
    }
}

/// A label that does not belong to a 1-D domain: NaN, infinite, or beyond the ends by more than half a bin step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutsideDomain {
    /// The label.
    pub value: f64,
    /// The first and last bin values.
    pub first: f64,
    pub last: f64,
    /// How far beyond the ends a label may lie.
    pub slack: f64,
}

impl std::fmt::Display for OutsideDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (first, last, slack) = (self.first, self.last, self.slack);
        if self.value.is_nan() {
            return write!(
                f,
                "label NaN is not a number; labels must lie in the label domain {first}..{last}"
            );
        }
        write!(
            f,
            "label {} lies outside the label domain {first}..{last} (a label may lie at most half a bin step, {slack}, beyond either end)",
            self.value
        )
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
            Error::invalid(
                "grid",
                spec,
                "expected two bin specs separated by a comma, e.g. -90:90:15,-90:90:15",
            )
        })?;
        let grid = Grid { axis1: Bins::parse(a)?, axis2: Bins::parse(b)? };
        if grid.axis1.len().saturating_mul(grid.axis2.len()) > MAX_BINS {
            return Err(Error::invalid(
                "grid",
                spec,
                format!("at most {MAX_BINS} cells ({}×{} given)", grid.axis1.len(), grid.axis2.len()),
            ));
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
        assert_eq!(Bins::parse("0:1:0.1").unwrap().len(), 11);
        let off_grid = Bins::parse("0:10:3").unwrap_err().to_string();
        assert!(
            off_grid.contains(
                "END 10 is not START plus a whole number of STEPs (3); 0:9:3 or 0:12:3 include both ends"
            ),
            "{off_grid}"
        );
        for bad in ["", "1", "5:1", "0:10:0", "0:10:-1", "a:b", "0:1:2:3", "0:inf", "0:10:3"] {
            assert!(Bins::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Bins::from_values(vec![1.0, 1.0]).is_err());
    }

    #[test]
    fn bin_of_accepts_half_a_step_beyond_the_ends_and_nothing_else() {
        let b = Bins::parse("0:10:2").unwrap();
        assert_eq!(b.bin_of(2.9), Ok(1));
        assert_eq!(b.bin_of(3.0), Ok(1));
        assert_eq!(b.bin_of(3.1), Ok(2));
        assert_eq!(b.bin_of(-1.0), Ok(0));
        assert_eq!(b.bin_of(11.0), Ok(5));
        for bad in [11.5, -1.01, f64::NAN, f64::INFINITY, 150.0] {
            assert!(b.bin_of(bad).is_err(), "{bad}");
        }
        let message = b.bin_of(150.0).unwrap_err().to_string();
        assert!(
            message.contains("label 150") && message.contains("0..10") && message.contains("1, beyond"),
            "{message}"
        );
        assert!(b.bin_of(f64::NAN).unwrap_err().to_string().contains("NaN is not a number"));
        let single = Bins::from_values(vec![3.0]).unwrap();
        assert_eq!((single.bin_of(3.4), single.bin_of(3.6).is_err()), (Ok(0), true));
        assert_eq!(
            (b.step(), single.step(), Bins::from_values(vec![0.0, 5.0, 6.0]).unwrap().step()),
            (2.0, 1.0, 1.0)
        );
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
