//! `dldl-meta label`: prints the target distribution of one label, so a researcher can see
//! exactly what a family and its φ mean before training with them.
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use dldl_meta::domain::ClassSet;
use dldl_meta::family::{
    DistributionSpec, Gaussian2dSpec, GaussianSpec, MixtureSpec, OnehotSpec, PdnSpec, SegmentationSpec,
    SigmaSpec, SmoothingSpec,
};
use dldl_meta::label::{
    check_classes, label_smoothing, one_hot, Bins, DistanceSpec, Gaussian1d, Gaussian2d, Grid, Mixture, Pdn,
    SegmentationSmoothing, Sigma, Sigma2d, DIFFICULT, NEGATIVE, POSITIVE, VOID,
};
use std::fmt::Write;
use tch::{Kind, Tensor};

/// The families `label` can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Family {
    /// Hard label over the bins.
    Onehot,
    /// Uniform label smoothing over the bins (--epsilon).
    Smoothing,
    /// 1-D Gaussian over the bins (--sigma).
    Gaussian,
    /// 2-D Gaussian over the grid (--sigma S or S1,S2).
    Gaussian2d,
    /// Multi-label Positive/Difficult/Negative (--p-d, --p-n).
    Pdn,
    /// Multi-label Gaussian mixture over label distances (--sigma, --p-d, --p-n, --distance).
    Mixture,
    /// A label map smoothed by a Gaussian kernel (--map, --kernel, --sigma).
    Segmentation,
}

/// Arguments of `dldl-meta label`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dldl-meta label --family gaussian --bins 0:100 --label 32 --sigma 2\n  dldl-meta label --family gaussian2d --grid=-30:30:10,-30:30:10 --label=0,10 --sigma 8,12\n  dldl-meta label --family pdn --classes 6 --positive 1,4 --difficult 2 --p-d 0.3 --p-n 0.05\n  dldl-meta label --family segmentation --map \"0 0 1/0 1 1/2 2 1\" --kernel 3 --sigma 1"
)]
pub struct LabelArgs {
    /// Distribution family to show.
    #[arg(long, value_enum)]
    pub family: Family,
    /// 1-D label domain START:END[:STEP], both ends included; END must be START plus a whole number of STEPs (onehot, smoothing, gaussian).
    #[arg(long, default_value = "0:100")]
    pub bins: String,
    /// 2-D label grid START:END[:STEP],START:END[:STEP], each axis like --bins (gaussian2d); write --grid=-90:90:15,... for negatives.
    #[arg(long, default_value = "-90:90:15,-90:90:15")]
    pub grid: String,
    /// The label: one value for 1-D families, `A,B` for gaussian2d (write --label=-10,20 for negatives); it must
    /// lie on the domain, at most half a bin step beyond its ends.
    #[arg(long, allow_hyphen_values = true)]
    pub label: Option<String>,
    /// Gaussian width σ (> 0); `S1,S2` for an anisotropic gaussian2d; the kernel width for segmentation.
    #[arg(long)]
    pub sigma: Option<String>,
    /// Label-smoothing weight ε, 0 <= ε < 1 (smoothing).
    #[arg(long, default_value_t = 0.1, value_parser = super::values::non_negative)]
    pub epsilon: f64,
    /// Number of classes, at most 1,000,000 (mixture: 10,000); segmentation: default is the largest class in --map plus one.
    #[arg(long, value_parser = super::values::whole::<i64, 1>)]
    pub classes: Option<i64>,
    /// Positive classes, comma separated (pdn, mixture).
    #[arg(long, value_delimiter = ',', value_parser = super::values::whole::<i64, 0>)]
    pub positive: Vec<i64>,
    /// Difficult classes, comma separated (pdn, mixture).
    #[arg(long, value_delimiter = ',', value_parser = super::values::whole::<i64, 0>)]
    pub difficult: Vec<i64>,
    /// Probability of a difficult class, p_P = 1 > p_D >= p_N (pdn, mixture).
    #[arg(long, default_value_t = 0.3, value_parser = super::values::non_negative)]
    pub p_d: f64,
    /// Probability of a negative class, 0 <= p_N <= p_D (pdn, mixture).
    #[arg(long, default_value_t = 0.0, value_parser = super::values::non_negative)]
    pub p_n: f64,
    /// Label distance of the mixture: `index` (|i − j|) or a C×C .csv file (co-occurrence needs a
    /// task's training labels: use `train` or `search`).
    #[arg(long, default_value = "index")]
    pub distance: String,
    /// Label map for segmentation: rows separated by `/`, classes by spaces; `v` or 255 is void.
    #[arg(long)]
    pub map: Option<String>,
    /// Kernel size K, odd, at most 255 (segmentation).
    #[arg(long, default_value_t = 5, value_parser = super::values::whole::<i64, 1>)]
    pub kernel: i64,
    /// Kernel stride S (segmentation).
    #[arg(long, default_value_t = 1, value_parser = super::values::whole::<i64, 1>)]
    pub stride: i64,
    /// Zero padding P (segmentation); default (K - 1) / 2.
    #[arg(long, value_parser = super::values::whole::<i64, 0>)]
    pub padding: Option<i64>,
    /// Rows with a smaller probability are not printed in 1-D tables (0 prints all).
    #[arg(long, default_value_t = 1e-4, value_parser = super::values::non_negative)]
    pub min_prob: f64,
}

/// Validates the arguments through the library's spec, computes the distribution and prints it.
pub fn run(args: &LabelArgs) -> anyhow::Result<()> {
    let spec = spec_of(args)?;
    spec.validate().with_context(|| format!("--family {}", spec.name()))?;
    // Computed in full before anything is printed: a refused distribution prints nothing.
    let table = match args.family {
        Family::Onehot | Family::Smoothing | Family::Gaussian => table_1d(args, &spec),
        Family::Gaussian2d => table_2d(args, &spec),
        Family::Pdn | Family::Mixture => table_multilabel(args, &spec),
        Family::Segmentation => table_segmentation(args, &spec),
    }?;
    print!("# {spec}\n{table}");
    Ok(())
}

/// The distribution spec the flags describe.
fn spec_of(args: &LabelArgs) -> anyhow::Result<DistributionSpec> {
    let sigma = || -> anyhow::Result<SigmaSpec> {
        let text = args.sigma.as_deref().context("--sigma is required for this family")?;
        let v = parse_numbers("--sigma", text)?;
        Ok(if v.len() == 1 { SigmaSpec::Scalar(v[0]) } else { SigmaSpec::Vector(v) })
    };
    let scalar_sigma = || -> anyhow::Result<f64> {
        match sigma()? {
            SigmaSpec::Scalar(s) => Ok(s),
            SigmaSpec::Vector(_) => bail!("--sigma takes one value for this family"),
        }
    };
    Ok(match args.family {
        Family::Onehot => DistributionSpec::Onehot(OnehotSpec {}),
        Family::Smoothing => DistributionSpec::Smoothing(SmoothingSpec { epsilon: args.epsilon }),
        Family::Gaussian => {
            DistributionSpec::Gaussian(GaussianSpec { sigma: SigmaSpec::Scalar(scalar_sigma()?) })
        }
        Family::Gaussian2d => DistributionSpec::Gaussian2d(Gaussian2dSpec { sigma: sigma()? }),
        Family::Pdn => DistributionSpec::Pdn(PdnSpec { p_d: args.p_d, p_n: args.p_n }),
        Family::Mixture => DistributionSpec::Mixture(MixtureSpec {
            sigma: scalar_sigma()?,
            p_d: args.p_d,
            p_n: args.p_n,
            distance: DistanceSpec::parse(&args.distance)?,
        }),
        Family::Segmentation => DistributionSpec::Segmentation(SegmentationSpec {
            sigma: scalar_sigma()?,
            kernel: args.kernel,
            stride: args.stride,
            padding: args.padding,
        }),
    })
}

fn parse_numbers(flag: &str, text: &str) -> anyhow::Result<Vec<f64>> {
    text.split(',')
        .map(|p| p.trim().parse::<f64>().with_context(|| format!("{flag} {text:?}: {p:?} is not a number")))
        .collect()
}

fn one_label(args: &LabelArgs, count: usize) -> anyhow::Result<Vec<f64>> {
    let text = args.label.as_deref().context("--label is required for this family")?;
    let v = parse_numbers("--label", text)?;
    if v.len() != count {
        bail!("--label {text:?}: expected {count} value(s)");
    }
    Ok(v)
}

fn sigma_tensor(spec: &DistributionSpec) -> Tensor {
    match spec {
        DistributionSpec::Mixture(m) => Tensor::from_slice(&[m.sigma]),
        other => Tensor::from_slice(&other.phi()),
    }
}

fn table_1d(args: &LabelArgs, spec: &DistributionSpec) -> anyhow::Result<String> {
    let mut out = String::new();
    let bins = Bins::parse(&args.bins).context("--bins")?;
    let value = one_label(args, 1)?[0];
    bins.bin_of(value).map_err(|e| anyhow::anyhow!("--label {value}: {e} (--bins {})", args.bins))?;
    let label = Tensor::from_slice(&[value]);
    let classes = bins.len() as i64;
    let p = match spec {
        DistributionSpec::Onehot(_) => one_hot(&bins.nearest_index(&label)?, classes)?,
        DistributionSpec::Smoothing(SmoothingSpec { epsilon }) => {
            label_smoothing(&bins.nearest_index(&label)?, classes, &Tensor::from_slice(&[*epsilon]))?
        }
        _ => Gaussian1d::new(&bins, Sigma::Scalar(sigma_tensor(spec)))?.targets(&label)?,
    };
    let p = Vec::<f64>::try_from(&p.to_kind(Kind::Double).reshape([-1]))?;
    check_finite(&p, &format!("--bins {} with {}", args.bins, phi_flags(args)))?;
    writeln!(
        out,
        "# {} bins from {} to {}; label {}",
        bins.len(),
        bins.values()[0],
        bins.values()[bins.len() - 1],
        args.label.as_deref().unwrap_or("")
    )?;
    writeln!(out, "{:>10}  {:>10}  ", "label", "p")?;
    let mut hidden = 0;
    for (value, prob) in bins.values().iter().zip(&p) {
        if *prob < args.min_prob {
            hidden += 1;
            continue;
        }
        writeln!(out, "{value:>10}  {prob:>10.6}  {}", bar(*prob))?;
    }
    if hidden > 0 {
        writeln!(out, "# {hidden} bins with p < {} not shown (--min-prob 0 shows all)", args.min_prob)?;
    }
    Ok(out)
}

fn table_2d(args: &LabelArgs, spec: &DistributionSpec) -> anyhow::Result<String> {
    let mut out = String::new();
    let grid = Grid::parse(&args.grid).context("--grid")?;
    let values = one_label(args, 2)?;
    for (axis, (bins, value)) in [&grid.axis1, &grid.axis2].into_iter().zip(&values).enumerate() {
        bins.bin_of(*value).map_err(|e| {
            anyhow::anyhow!(
                "--label {}: axis {}: {e} (--grid {})",
                args.label.as_deref().unwrap_or(""),
                axis + 1,
                args.grid
            )
        })?;
    }
    let label = Tensor::from_slice(&values).reshape([1, 2]);
    let sigma = sigma_tensor(spec);
    let sigma = if sigma.numel() == 1 { Sigma2d::Isotropic(sigma) } else { Sigma2d::Anisotropic(sigma) };
    let p = Vec::<f64>::try_from(&Gaussian2d::new(&grid, sigma)?.targets(&label)?.reshape([-1]))?;
    check_finite(&p, &format!("--grid {} with {}", args.grid, phi_flags(args)))?;
    writeln!(
        out,
        "# rows: axis 1 ({} values), columns: axis 2 ({} values); label {}",
        grid.axis1.len(),
        grid.axis2.len(),
        args.label.as_deref().unwrap_or("")
    )?;
    write!(out, "{:>8} |", "")?;
    for b in grid.axis2.values() {
        write!(out, "{b:>8}")?;
    }
    writeln!(out)?;
    for (j, a) in grid.axis1.values().iter().enumerate() {
        write!(out, "{a:>8} |")?;
        for k in 0..grid.axis2.len() {
            write!(out, "{:>8.4}", p[j * grid.axis2.len() + k])?;
        }
        writeln!(out)?;
    }
    Ok(out)
}

fn table_multilabel(args: &LabelArgs, spec: &DistributionSpec) -> anyhow::Result<String> {
    let mut out = String::new();
    let classes = args.classes.context("--classes is required for pdn and mixture")?;
    check_classes("--classes", classes)?;
    let mut states = vec![NEGATIVE; classes as usize];
    for (flag, list, code) in
        [("--positive", &args.positive, POSITIVE), ("--difficult", &args.difficult, DIFFICULT)]
    {
        for &c in list {
            if c < 0 || c >= classes {
                bail!("{flag} {c}: classes are 0..{}", classes - 1);
            }
            if code == DIFFICULT && args.positive.contains(&c) {
                bail!("class {c} is in both --positive and --difficult: a class cannot be in two sets");
            }
            states[c as usize] = code;
        }
    }
    let state_tensor = Tensor::from_slice(&states).reshape([1, classes]);
    let pdn = Pdn::explicit(args.p_d, args.p_n)?;
    let p = match spec {
        DistributionSpec::Mixture(MixtureSpec { distance, .. }) => {
            // Without a task there are no training labels: index distance and files only.
            let distance = ClassSet::new(classes)
                .distance(distance)
                .context("--distance (co-occurrence needs a task: use `train` or `search`)")?;
            Mixture::new(&distance, sigma_tensor(spec), pdn)?.targets(&state_tensor)?
        }
        _ => pdn.targets(&state_tensor)?,
    };
    let p = Vec::<f64>::try_from(&p.reshape([-1]))?;
    check_finite(&p, &format!("--classes {classes} with {}", phi_flags(args)))?;
    writeln!(out, "{:>6}  {:>5}  {:>10}", "class", "state", "p")?;
    for (c, (state, prob)) in states.iter().zip(&p).enumerate() {
        let name = match *state {
            POSITIVE => "P",
            DIFFICULT => "D",
            _ => "N",
        };
        writeln!(out, "{c:>6}  {name:>5}  {prob:>10.6}  {}", bar(*prob))?;
    }
    Ok(out)
}

fn table_segmentation(args: &LabelArgs, spec: &DistributionSpec) -> anyhow::Result<String> {
    let mut out = String::new();
    let map = parse_map(args.map.as_deref().context("--map is required for segmentation")?)?;
    let (h, w) = (map.len() as i64, map[0].len() as i64);
    let largest = map.iter().flatten().copied().filter(|&v| v != VOID).max().unwrap_or(0);
    let classes = args.classes.unwrap_or(largest + 1);
    let flat: Vec<i64> = map.iter().flatten().copied().collect();
    let smoothing = SegmentationSmoothing::new(spec.kernel_shape()?, sigma_tensor(spec))?;
    let targets = smoothing.targets(&Tensor::from_slice(&flat).reshape([1, h, w]), classes)?;
    let kernel = Vec::<f64>::try_from(&smoothing.kernel().reshape([-1]))?;
    writeln!(out, "# kernel f ({}×{}):", args.kernel, args.kernel)?;
    for row in kernel.chunks(args.kernel as usize) {
        writeln!(out, "  {}", row.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>().join(" "))?;
    }
    let size = targets.dist.size();
    let (ho, wo) = (size[2], size[3]);
    let dist = Vec::<f64>::try_from(&targets.dist.reshape([-1]))?;
    check_finite(&dist, &format!("--kernel {} with {}", args.kernel, phi_flags(args)))?;
    let valid = Vec::<bool>::try_from(&targets.valid.reshape([-1]))?;
    for k in 0..classes {
        writeln!(out, "# class {k}: p(class {k}) per output position ({ho}×{wo}; '-' = no labelled pixel)")?;
        for i in 0..ho {
            let row: Vec<String> = (0..wo)
                .map(|j| {
                    let at = (i * wo + j) as usize;
                    if valid[at] {
                        format!("{:.3}", dist[(k * ho * wo) as usize + at])
                    } else {
                        "  -  ".into()
                    }
                })
                .collect();
            writeln!(out, "  {}", row.join(" "))?;
        }
    }
    Ok(out)
}

fn parse_map(text: &str) -> anyhow::Result<Vec<Vec<i64>>> {
    let rows: Vec<Vec<i64>> = text
        .split('/')
        .map(|row| {
            row.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|c| !c.is_empty())
                .map(|c| {
                    if c == "v" {
                        Ok(VOID)
                    } else {
                        c.parse::<i64>().with_context(|| format!("--map: {c:?} is not a class index"))
                    }
                })
                .collect()
        })
        .collect::<anyhow::Result<_>>()?;
    if rows.is_empty() || rows[0].is_empty() || rows.iter().any(|r| r.len() != rows[0].len()) {
        bail!("--map: rows must be non-empty and all of the same length");
    }
    Ok(rows)
}

/// The flags of the family's parameters φ as given, for an error message.
fn phi_flags(args: &LabelArgs) -> String {
    let sigma = format!("--sigma {}", args.sigma.as_deref().unwrap_or(""));
    let pdn = format!("--p-d {} --p-n {}", args.p_d, args.p_n);
    match args.family {
        Family::Onehot => "--family onehot".into(),
        Family::Smoothing => format!("--epsilon {}", args.epsilon),
        Family::Gaussian | Family::Gaussian2d | Family::Segmentation => sigma,
        Family::Pdn => pdn,
        Family::Mixture => format!("{sigma} {pdn}"),
    }
}

/// Refuses a computed distribution with a value that is not finite (NaN or ±∞), naming `inputs`.
fn check_finite(p: &[f64], inputs: &str) -> anyhow::Result<()> {
    match p.iter().position(|v| !v.is_finite()) {
        Some(at) => bail!(
            "{inputs}: the distribution is not finite ({} of {} values, e.g. p = {} at position {at}); \
             these values overflow double precision: use a smaller label range and σ",
            p.iter().filter(|v| !v.is_finite()).count(),
            p.len(),
            p[at]
        ),
        None => Ok(()),
    }
}

fn bar(p: f64) -> String {
    "#".repeat((p * 50.0).round() as usize)
}
