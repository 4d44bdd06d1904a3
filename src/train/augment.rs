//! Augmentations of a training batch `[P, B, C, H, W]`, one draw per sample from its member's
//! sampler: horizontal flips and random shifts with zero padding (a padded random crop).
use tch::{Device, Kind, Tensor};

/// Flips the last axis of the samples marked in `flips` (images `[P, B, C, H, W]`).
pub fn flip_where(x: &Tensor, flips: &[bool], device: Device) -> Tensor {
    let s = x.size();
    let mut shape = vec![s[0], s[1]];
    shape.extend(std::iter::repeat_n(1, s.len() - 2));
    let mask = Tensor::from_slice(flips).to_device(device).reshape(shape.as_slice());
    x.flip([-1]).where_self(&mask, x)
}

/// Shifts sample n of `x` (`[P, B, C, H, W]`) by `offsets[2n]` rows and `offsets[2n + 1]` columns,
/// each in `-max..=max`: `out[i, j] = x[i + dy, j + dx]`, zero outside the image. This is a
/// `H×W` crop at `(max + dy, max + dx)` of the image zero-padded by `max` on every side.
pub fn shift_by(x: &Tensor, offsets: &[i64], max: i64) -> Tensor {
    let s = x.size();
    let (n, c, h, w) = (s[0] * s[1], s[2], s[3], s[4]);
    let device = x.device();
    let padded = x.reshape([n, c, h, w]).constant_pad_nd([max, max, max, max]);
    let offsets = Tensor::from_slice(offsets).to_device(device).reshape([n, 2]) + max;
    let axis = |len: i64| Tensor::arange(len, (Kind::Int64, device));
    let rows = (offsets.select(1, 0).reshape([n, 1, 1, 1]) + axis(h).reshape([1, 1, h, 1]))
        .expand([n, c, h, w + 2 * max], false);
    let cols = (offsets.select(1, 1).reshape([n, 1, 1, 1]) + axis(w).reshape([1, 1, 1, w]))
        .expand([n, c, h, w], false);
    padded.gather(2, &rows, false).gather(3, &cols, false).reshape(s.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_move_pixels_and_pad_with_zeros() {
        // Two samples of a 2-channel 3×4 image: values 1..=24.
        let x = (Tensor::arange(48, (Kind::Float, Device::Cpu)) + 1.0).reshape([1, 2, 2, 3, 4]);
        let out = shift_by(&x, &[1, -2, 0, 0], 2);
        assert!(out.get(0).get(1).equal(&x.get(0).get(1)), "offset (0, 0) is the identity");
        let moved = out.get(0).get(0);
        for (c, i, j) in [(0, 0, 0), (1, 1, 3), (0, 2, 2), (1, 0, 1)] {
            let (si, sj) = (i + 1, j - 2);
            let want = if (0..3).contains(&si) && (0..4).contains(&sj) {
                x.double_value(&[0, 0, c, si, sj])
            } else {
                0.0
            };
            assert_eq!(moved.double_value(&[c, i, j]), want, "pixel ({c}, {i}, {j})");
        }
        // The whole row that comes from below the image is zero.
        assert_eq!(moved.select(1, 2).abs().sum(Kind::Float).double_value(&[]), 0.0);
    }

    #[test]
    fn flips_reverse_only_marked_samples() {
        let x = Tensor::arange(8, (Kind::Float, Device::Cpu)).reshape([1, 2, 1, 1, 4]);
        let out = flip_where(&x, &[true, false], Device::Cpu);
        assert_eq!(
            Vec::<f32>::try_from(out.flatten(0, -1)).unwrap(),
            vec![3.0, 2.0, 1.0, 0.0, 4.0, 5.0, 6.0, 7.0]
        );
    }
}
