//! The segmentation family: one-hot label maps smoothed by a K×K Gaussian kernel of width σ_f
//! with stride S and padding P (`y''_ijk = Σ f_i'j' y'_{i'+(i−1)S−P, j'+(j−1)S−P, k}`), normalised over classes.
use super::validate;
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// Label value of void pixels (VOC's 255): they count for no class and are ignored by the loss.
pub const VOID: i64 = 255;

/// The largest kernel size K: a K×K kernel wider than any label map it smooths is a typing error.
pub const MAX_KERNEL_SIZE: i64 = 255;

/// Kernel size K (odd, 1 ≤ K ≤ [`MAX_KERNEL_SIZE`]), stride S (≥ 1) and zero padding P (0 ≤ P < K).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelShape {
    pub size: i64,
    pub stride: i64,
    pub padding: i64,
}

impl KernelShape {
    /// Checks the rules above.
    pub fn new(size: i64, stride: i64, padding: i64) -> Result<Self> {
        if size < 1 || size % 2 == 0 || size > MAX_KERNEL_SIZE {
            return Err(Error::invalid(
                "kernel size",
                size,
                format!("must be odd and between 1 and {MAX_KERNEL_SIZE}"),
            ));
        }
        if stride < 1 {
            return Err(Error::invalid("stride", stride, "must be >= 1"));
        }
        if padding < 0 || padding >= size {
            return Err(Error::invalid(
                "padding",
                padding,
                format!("must satisfy 0 <= padding < kernel size {size}"),
            ));
        }
        Ok(KernelShape { size, stride, padding })
    }

    /// The "same" shape: stride 1, padding (K − 1) / 2, so the map keeps its size.
    pub fn same(size: i64) -> Result<Self> {
        KernelShape::new(size, 1, (size.max(1) - 1) / 2)
    }

    /// Training needs targets of the input's size, since the network predicts one distribution per
    /// input pixel: stride 1 and padding (K − 1) / 2 (the defaults). `label` shows any shape.
    pub fn check_keeps_size(&self) -> Result<()> {
        let same = (self.size - 1) / 2;
        if self.stride == 1 && self.padding == same {
            return Ok(());
        }
        Err(Error::invalid(
            "segmentation kernel shape",
            format!("kernel {}, stride {}, padding {}", self.size, self.stride, self.padding),
            format!("training needs stride 1 and padding (kernel - 1) / 2 = {same}, so that the targets keep the map size the network predicts"),
        ))
    }

    /// Output side length for an input side of `n` pixels.
    pub fn output_len(&self, n: i64) -> i64 {
        (n + 2 * self.padding - self.size).div_euclid(self.stride) + 1
    }

    /// The output size for `[H, W]` maps; a kernel that does not fit the padded map is an error.
    pub fn output_size(&self, height: i64, width: i64) -> Result<(i64, i64)> {
        let (ho, wo) = (self.output_len(height), self.output_len(width));
        if ho < 1 || wo < 1 {
            return Err(Error::shape(
                "segmentation kernel",
                format!("a {0}×{0} kernel with padding {1} does not fit a {height}×{width} label map (needs side + 2·padding >= kernel size)", self.size, self.padding),
            ));
        }
        Ok((ho, wo))
    }
}

/// Smoothed targets and which output positions have any labelled pixel under the kernel.
#[derive(Debug)]
pub struct SegmentationTargets {
    /// `[N, classes, H', W']`, summing to 1 over classes where `valid`, 0 elsewhere.
    pub dist: Tensor,
    /// `[N, H', W']` boolean.
    pub valid: Tensor,
}

/// Gaussian smoothing of label maps with φ = σ_f.
#[derive(Debug)]
pub struct SegmentationSmoothing {
    shape: KernelShape,
    sigma: Tensor,
}

impl SegmentationSmoothing {
    /// σ_f must be one finite value > 0.
    pub fn new(shape: KernelShape, sigma: Tensor) -> Result<Self> {
        let value = validate::positive_scalar("kernel sigma", &sigma)?;
        validate::sigma_floor("kernel sigma", &[value], 1.0, "pixel")?;
        Ok(SegmentationSmoothing { shape, sigma })
    }

    /// The K×K kernel `f_ab ∝ exp(−((a−c)² + (b−c)²) / 2σ_f²)`, c = (K−1)/2, summing to 1.
    pub fn kernel(&self) -> Tensor {
        let kind = validate::float_kind(&self.sigma);
        let k = self.shape.size;
        let offset = Tensor::arange(k, (kind, self.sigma.device())) - (k - 1) as f64 / 2.0;
        let sq = offset.square();
        let d2 = sq.unsqueeze(1) + sq.unsqueeze(0);
        let f = (-d2 / (self.sigma.to_kind(kind).reshape([1, 1]).square() * 2.0)).exp();
        &f / f.sum(kind)
    }

    /// Targets for label maps `[N, H, W]` (class index in `0..classes`, or [`VOID`]). The big
    /// tensors go through tch's fallible calls: a map too large for memory is an error, not an abort.
    pub fn targets(&self, maps: &Tensor, classes: i64) -> Result<SegmentationTargets> {
        let one_hot = one_hot_maps(maps, classes)?;
        let size = one_hot.size();
        self.shape.output_size(size[2], size[3])?;
        let kind = validate::float_kind(&self.sigma);
        let one_hot = one_hot.f_to_kind(kind)?.f_to_device(self.sigma.device())?;
        let k = self.shape.size;
        let weight = self.kernel().reshape([1, 1, k, k]).expand([classes, 1, k, k], false);
        let s = self.shape.stride;
        let p = self.shape.padding;
        let smoothed = one_hot.f_conv2d(&weight, None::<Tensor>, [s, s], [p, p], [1, 1], classes)?;
        let total = smoothed.f_sum_dim_intlist(1, true, kind)?;
        let valid = total.gt(0.0);
        let dist = smoothed.f_div(&total.clamp_min(validate::tiny(kind)))?.f_mul(&valid.to_kind(kind))?;
        Ok(SegmentationTargets { dist, valid: valid.squeeze_dim(1) })
    }
}

/// One-hot maps `[N, classes, H, W]` (f32) from label maps; void pixels are all-zero.
pub fn one_hot_maps(maps: &Tensor, classes: i64) -> Result<Tensor> {
    validate::dims("label maps", maps, 3)?;
    if validate::float_kind(maps) == maps.kind() {
        return Err(Error::shape("label maps", "expected an integer tensor of class indices"));
    }
    validate::check_classes("classes", classes)?;
    let void = maps.eq(VOID);
    let out_of_range = maps.lt(0).logical_or(&maps.ge(classes)).logical_and(&void.logical_not()).any();
    if bool::try_from(&out_of_range)? {
        return Err(Error::invalid(
            "label maps",
            "a value outside the classes",
            format!("values must be in 0..{classes} or {VOID} (void)"),
        ));
    }
    let safe = maps.masked_fill(&void, 0);
    let hot = safe
        .f_one_hot(classes)?
        .f_to_kind(Kind::Float)?
        .f_mul(&void.logical_not().unsqueeze(-1).to_kind(Kind::Float))?;
    Ok(hot.permute([0, 3, 1, 2]).f_contiguous()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::validate::values;

    /// The formula of DESIGN.md evaluated by plain loops (0-based: y''[i][j][k] = Σ f[a][b]·y'[a+iS−P][b+jS−P][k]).
    fn direct(map: &[Vec<i64>], classes: usize, f: &[Vec<f64>], shape: KernelShape) -> Vec<Vec<Vec<f64>>> {
        let (h, w) = (map.len() as i64, map[0].len() as i64);
        let (ho, wo) = (shape.output_len(h), shape.output_len(w));
        let mut out = vec![vec![vec![0.0; classes]; wo as usize]; ho as usize];
        for i in 0..ho {
            for j in 0..wo {
                for a in 0..shape.size {
                    for b in 0..shape.size {
                        let (r, c) =
                            (a + i * shape.stride - shape.padding, b + j * shape.stride - shape.padding);
                        if r < 0 || c < 0 || r >= h || c >= w {
                            continue;
                        }
                        let label = map[r as usize][c as usize];
                        if label != VOID {
                            out[i as usize][j as usize][label as usize] += f[a as usize][b as usize];
                        }
                    }
                }
                let z: f64 = out[i as usize][j as usize].iter().sum();
                if z > 0.0 {
                    out[i as usize][j as usize].iter_mut().for_each(|v| *v /= z);
                }
            }
        }
        out
    }

    fn tensor_of(map: &[Vec<i64>]) -> Tensor {
        let flat: Vec<i64> = map.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).reshape([1, map.len() as i64, map[0].len() as i64])
    }

    #[test]
    fn equals_a_direct_loop_over_the_formula() {
        let map = vec![
            vec![0, 0, 1, 1, 2, 2, 2],
            vec![0, 1, 1, 255, 2, 2, 0],
            vec![1, 1, 1, 1, 0, 0, 0],
            vec![2, 2, 255, 255, 0, 1, 1],
            vec![2, 0, 0, 1, 1, 1, 2],
            vec![0, 0, 2, 2, 1, 0, 0],
        ];
        for (size, stride, padding, sigma) in [(3, 1, 1, 1.0), (5, 2, 2, 3.0), (3, 2, 0, 0.7), (1, 1, 0, 2.0)]
        {
            let shape = KernelShape::new(size, stride, padding).unwrap();
            let smoothing = SegmentationSmoothing::new(shape, Tensor::from_slice(&[sigma])).unwrap();
            let kv = values(&smoothing.kernel()).unwrap();
            let f: Vec<Vec<f64>> = kv.chunks(size as usize).map(|r| r.to_vec()).collect();
            let want = direct(&map, 3, &f, shape);
            let got = smoothing.targets(&tensor_of(&map), 3).unwrap();
            let g = values(&got.dist).unwrap();
            let (ho, wo) = (want.len(), want[0].len());
            assert_eq!(got.dist.size(), vec![1, 3, ho as i64, wo as i64]);
            for k in 0..3 {
                for i in 0..ho {
                    for j in 0..wo {
                        let x = g[(k * ho + i) * wo + j];
                        assert!(
                            (x - want[i][j][k]).abs() < 1e-12,
                            "K={size} S={stride} ({i},{j},{k}): {x} vs {}",
                            want[i][j][k]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_matches_closed_form() {
        let s =
            SegmentationSmoothing::new(KernelShape::same(3).unwrap(), Tensor::from_slice(&[1.0f64])).unwrap();
        let k = values(&s.kernel()).unwrap();
        let (e1, e2) = ((-0.5f64).exp(), (-1.0f64).exp());
        let z = 1.0 + 4.0 * e1 + 4.0 * e2;
        assert!((k[4] - 1.0 / z).abs() < 1e-12);
        assert!((k[1] - e1 / z).abs() < 1e-12);
        assert!((k[0] - e2 / z).abs() < 1e-12);
    }

    #[test]
    fn small_sigma_keeps_the_one_hot_map_and_void_is_invalid() {
        let map = vec![vec![0, 1, 255], vec![2, 2, 1]];
        let s = SegmentationSmoothing::new(KernelShape::same(3).unwrap(), Tensor::from_slice(&[0.01f64]))
            .unwrap();
        assert!(
            SegmentationSmoothing::new(KernelShape::same(3).unwrap(), Tensor::from_slice(&[1e-3f64]))
                .is_err(),
            "below the floor of a pixel/100"
        );
        let t = s.targets(&tensor_of(&map), 3).unwrap();
        let one_hot = one_hot_maps(&tensor_of(&map), 3).unwrap().to_kind(Kind::Double);
        assert!((t.dist - one_hot).abs().max().double_value(&[]) < 1e-12);
        assert_eq!(
            Vec::<bool>::try_from(&t.valid.reshape([-1])).unwrap(),
            vec![true, true, false, true, true, true]
        );
    }

    #[test]
    fn gradient_in_sigma_matches_central_differences() {
        let map = vec![vec![0, 1, 1, 0], vec![2, 1, 0, 0], vec![2, 2, 1, 255]];
        let probe = Tensor::arange(3 * 12, (Kind::Double, tch::Device::Cpu)).cos().reshape([1, 3, 3, 4]);
        let objective = |s: &Tensor| {
            let sm = SegmentationSmoothing::new(KernelShape::same(3).unwrap(), s.shallow_clone()).unwrap();
            (sm.targets(&tensor_of(&map), 3).unwrap().dist * &probe).sum(Kind::Double)
        };
        let s = Tensor::from_slice(&[1.3f64]).set_requires_grad(true);
        let grad = Tensor::run_backward(&[objective(&s)], &[&s], false, false)[0].double_value(&[0]);
        let at = |x: f64| objective(&Tensor::from_slice(&[x])).double_value(&[]);
        let fd = (at(1.3 + 1e-6) - at(1.3 - 1e-6)) / 2e-6;
        assert!((grad - fd).abs() < 1e-8, "{grad} vs {fd}");
    }

    #[test]
    fn only_size_keeping_shapes_can_train() {
        assert!(KernelShape::same(5).unwrap().check_keeps_size().is_ok());
        let err = KernelShape::new(5, 2, 2).unwrap().check_keeps_size().unwrap_err().to_string();
        assert!(
            err.contains("kernel 5, stride 2, padding 2")
                && err.contains("stride 1 and padding (kernel - 1) / 2 = 2"),
            "{err}"
        );
        assert!(KernelShape::new(5, 1, 0).unwrap().check_keeps_size().is_err());
    }

    #[test]
    fn invalid_settings_are_typed_errors() {
        assert!(KernelShape::new(4, 1, 1).is_err());
        assert!(KernelShape::new(0, 1, 0).is_err());
        assert!(KernelShape::new(3, 0, 1).is_err());
        assert!(KernelShape::new(3, 1, 3).is_err());
        assert!(KernelShape::new(MAX_KERNEL_SIZE, 1, 0).is_ok());
        let err = KernelShape::new(100_001, 1, 0).unwrap_err().to_string();
        assert!(err.contains("kernel size = 100001") && err.contains("between 1 and 255"), "{err}");
        assert!(SegmentationSmoothing::new(KernelShape::same(3).unwrap(), Tensor::from_slice(&[-1.0f64]))
            .is_err());
        let s =
            SegmentationSmoothing::new(KernelShape::same(3).unwrap(), Tensor::from_slice(&[1.0f64])).unwrap();
        assert!(s.targets(&Tensor::from_slice(&[0i64, 5]).reshape([1, 1, 2]), 3).is_err());
        let map = Tensor::from_slice(&[0i64, 1, 1, 0]).reshape([1, 2, 2]);
        let err = s.targets(&map, 1_000_001).unwrap_err().to_string();
        assert!(err.contains("classes = 1000001"), "{err}");
        let wide =
            SegmentationSmoothing::new(KernelShape::new(5, 1, 0).unwrap(), Tensor::from_slice(&[1.0f64]))
                .unwrap();
        let err = wide.targets(&map, 2).unwrap_err().to_string();
        assert!(err.contains("does not fit a 2×2 label map"), "{err}");
    }
}
