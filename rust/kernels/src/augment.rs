//! Batch augmentation of channel-first uint8 images, seeded per image.
//!
//! Every image draws its random numbers from its own generator seeded by `(seed, index)`, and
//! always draws the same count whether or not an op fires, so the output depends on the seed
//! alone — not on the thread count nor on the other ops' probabilities.
//!
//! Order: flip and translate (one gather), then brightness, contrast, saturation, then cutout.

use rayon::prelude::*;

/// Probability and magnitude of each op. A probability of 0 disables the op.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AugmentParams {
    pub flip_p: f32,
    pub translate_p: f32,
    /// Maximum shift as a fraction of the side; shifts are integers in `[-round(f*side), +..]`.
    pub translate: f32,
    /// Fill uncovered pixels by reflection (like `torch.nn.functional.pad(mode="reflect")`)
    /// instead of zeros.
    pub translate_reflect: bool,
    pub cutout_p: f32,
    /// Side of the zeroed square as a fraction of the image side.
    pub cutout: f32,
    pub brightness_p: f32,
    /// Factor drawn from `[max(0, 1-b), 1+b]`, multiplies every value.
    pub brightness: f32,
    pub contrast_p: f32,
    /// Factor drawn from `[max(0, 1-c), 1+c]`, blends with the image's mean gray.
    pub contrast: f32,
    pub saturation_p: f32,
    /// Factor drawn from `[max(0, 1-s), 1+s]`, blends with each pixel's gray (3 channels only).
    pub saturation: f32,
}

/// SplitMix64: a tiny counter-based generator with good statistical quality.
struct SplitMix64(u64);

impl SplitMix64 {
    fn for_image(seed: u64, index: u64) -> Self {
        let mut seeder = SplitMix64(seed ^ 0x6A09_E667_F3BC_C908);
        let base = seeder.next_u64();
        SplitMix64(base ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform integer in `[lo, hi]`.
    fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + ((self.next_u64() >> 11) % span) as i64
    }
}

/// The random choices for one image.
#[derive(Debug, Clone, Copy)]
struct Draw {
    flip: bool,
    shift: Option<(i64, i64)>,
    brightness: Option<f32>,
    contrast: Option<f32>,
    saturation: Option<f32>,
    cutout: Option<(i64, i64)>,
}

fn factor(rng: &mut SplitMix64, magnitude: f32) -> f32 {
    let lo = (1.0 - magnitude).max(0.0);
    let hi = 1.0 + magnitude;
    lo + (hi - lo) * rng.unit()
}

impl Draw {
    fn new(p: &AugmentParams, seed: u64, index: u64, h: usize, w: usize, c: usize) -> Draw {
        let mut rng = SplitMix64::for_image(seed, index);
        let fires = |prob: f32, rng: &mut SplitMix64| rng.unit() < prob;
        let flip = fires(p.flip_p, &mut rng);
        let tx = (p.translate * w as f32).round() as i64;
        let ty = (p.translate * h as f32).round() as i64;
        let shift_fires = fires(p.translate_p, &mut rng);
        let shift = (rng.int_in(-ty, ty), rng.int_in(-tx, tx));
        let b_fires = fires(p.brightness_p, &mut rng);
        let b = factor(&mut rng, p.brightness);
        let c_fires = fires(p.contrast_p, &mut rng);
        let cf = factor(&mut rng, p.contrast);
        let s_fires = fires(p.saturation_p, &mut rng);
        let s = factor(&mut rng, p.saturation);
        let cut_fires = fires(p.cutout_p, &mut rng);
        let cut = (rng.int_in(0, h as i64 - 1), rng.int_in(0, w as i64 - 1));
        Draw {
            flip,
            shift: (shift_fires && shift != (0, 0)).then_some(shift),
            brightness: b_fires.then_some(b),
            contrast: c_fires.then_some(cf),
            saturation: (s_fires && c == 3).then_some(s),
            cutout: (cut_fires && p.cutout > 0.0).then_some(cut),
        }
    }
}

/// Map a possibly out-of-range coordinate into `[0, n)` by reflection without repeating the
/// edge; `None` for zero padding when out of range.
#[inline]
fn source_index(i: i64, n: usize, reflect: bool) -> Option<usize> {
    let n = n as i64;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    if !reflect {
        return None;
    }
    if n == 1 {
        return Some(0);
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    Some(if m < n { m } else { period - m } as usize)
}

#[inline]
fn clamp_byte(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn apply_lut(image: &mut [u8], lut: &[u8; 256]) {
    for v in image.iter_mut() {
        *v = lut[*v as usize];
    }
}

/// Mean gray (ITU-R 601-2 weights, as torchvision's `rgb_to_grayscale`) of a channel-first image.
fn mean_gray(image: &[u8], c: usize, plane: usize) -> f32 {
    if c == 1 {
        return image.iter().map(|&v| v as u64).sum::<u64>() as f32 / plane as f32;
    }
    let sum = |k: usize| {
        image[k * plane..(k + 1) * plane]
            .iter()
            .map(|&v| v as u64)
            .sum::<u64>() as f32
    };
    (0.299 * sum(0) + 0.587 * sum(1) + 0.114 * sum(2)) / plane as f32
}

fn augment_one(
    src: &[u8],
    out: &mut [u8],
    shape: (usize, usize, usize),
    p: &AugmentParams,
    draw: &Draw,
    cols: &mut Vec<Option<usize>>,
) {
    let (c, h, w) = shape;
    let plane = h * w;

    // Geometry: out(y, x) = flip(in)(y - dy, x - dx), as one gather.
    if !draw.flip && draw.shift.is_none() {
        out.copy_from_slice(src);
    } else {
        let (dy, dx) = draw.shift.unwrap_or((0, 0));
        cols.clear();
        cols.extend((0..w).map(|x| {
            source_index(x as i64 - dx, w, p.translate_reflect).map(|sx| {
                if draw.flip {
                    w - 1 - sx
                } else {
                    sx
                }
            })
        }));
        for y in 0..h {
            let sy = source_index(y as i64 - dy, h, p.translate_reflect);
            for k in 0..c {
                let dst = &mut out[k * plane + y * w..k * plane + (y + 1) * w];
                match sy {
                    None => dst.fill(0),
                    Some(sy) => {
                        let row = &src[k * plane + sy * w..k * plane + (sy + 1) * w];
                        for (d, col) in dst.iter_mut().zip(cols.iter()) {
                            *d = col.map_or(0, |sx| row[sx]);
                        }
                    }
                }
            }
        }
    }

    if let Some(f) = draw.brightness {
        let lut: [u8; 256] = std::array::from_fn(|v| clamp_byte(v as f32 * f));
        apply_lut(out, &lut);
    }
    if let Some(f) = draw.contrast {
        let mean = mean_gray(out, c, plane);
        let lut: [u8; 256] = std::array::from_fn(|v| clamp_byte(f * v as f32 + (1.0 - f) * mean));
        apply_lut(out, &lut);
    }
    if let Some(f) = draw.saturation {
        let (r, rest) = out.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        let keep = f;
        let mix = 1.0 - f;
        for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
            let gray = mix * (0.299 * *r as f32 + 0.587 * *g as f32 + 0.114 * *b as f32);
            *r = clamp_byte(keep * *r as f32 + gray);
            *g = clamp_byte(keep * *g as f32 + gray);
            *b = clamp_byte(keep * *b as f32 + gray);
        }
    }
    if let Some((cy, cx)) = draw.cutout {
        let side = |n: usize| ((p.cutout * n as f32).round() as i64).clamp(0, n as i64);
        let (sh, sw) = (side(h), side(w));
        let y0 = (cy - sh / 2).clamp(0, h as i64) as usize;
        let y1 = (cy - sh / 2 + sh).clamp(0, h as i64) as usize;
        let x0 = (cx - sw / 2).clamp(0, w as i64) as usize;
        let x1 = (cx - sw / 2 + sw).clamp(0, w as i64) as usize;
        for k in 0..c {
            for y in y0..y1 {
                out[k * plane + y * w + x0..k * plane + y * w + x1].fill(0);
            }
        }
    }
}

/// Augment a batch of `n` channel-first images of shape `(c, h, w)`; returns a new buffer.
pub fn augment(
    input: &[u8],
    shape: [usize; 4],
    params: &AugmentParams,
    seed: u64,
) -> Result<Vec<u8>, String> {
    let [n, c, h, w] = shape;
    if input.len() != n * c * h * w {
        return Err(format!(
            "buffer of {} bytes does not match shape {shape:?}",
            input.len()
        ));
    }
    if c == 0 || h == 0 || w == 0 {
        return Ok(input.to_vec());
    }
    let len = c * h * w;
    let mut out = vec![0u8; input.len()];
    out.par_chunks_mut(len)
        .zip(input.par_chunks(len))
        .enumerate()
        .for_each_init(Vec::new, |cols, (i, (dst, src))| {
            let draw = Draw::new(params, seed, i as u64, h, w, c);
            augment_one(src, dst, (c, h, w), params, &draw, cols);
        });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, c: usize, h: usize, w: usize) -> Vec<u8> {
        (0..n * c * h * w).map(|v| (v * 7 % 251) as u8).collect()
    }

    #[test]
    fn identity_when_disabled() {
        let input = ramp(3, 3, 5, 5);
        let out = augment(&input, [3, 3, 5, 5], &AugmentParams::default(), 1).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn flip_mirrors_rows() {
        let input = ramp(1, 1, 2, 3);
        let params = AugmentParams {
            flip_p: 1.0,
            ..Default::default()
        };
        let out = augment(&input, [1, 1, 2, 3], &params, 1).unwrap();
        assert_eq!(
            out,
            vec![input[2], input[1], input[0], input[5], input[4], input[3]]
        );
    }

    #[test]
    fn reflect_index() {
        assert_eq!(source_index(-1, 4, true), Some(1));
        assert_eq!(source_index(4, 4, true), Some(2));
        assert_eq!(source_index(-7, 4, true), Some(1));
        assert_eq!(source_index(-1, 4, false), None);
        assert_eq!(source_index(3, 4, false), Some(3));
    }

    #[test]
    fn deterministic_across_thread_counts() {
        let input = ramp(16, 3, 8, 8);
        let params = AugmentParams {
            flip_p: 0.5,
            translate_p: 1.0,
            translate: 0.25,
            cutout_p: 0.5,
            cutout: 0.5,
            brightness_p: 1.0,
            brightness: 0.3,
            contrast_p: 1.0,
            contrast: 0.3,
            saturation_p: 1.0,
            saturation: 0.3,
            ..Default::default()
        };
        let one =
            crate::with_threads(Some(1), || augment(&input, [16, 3, 8, 8], &params, 9)).unwrap();
        let two =
            crate::with_threads(Some(2), || augment(&input, [16, 3, 8, 8], &params, 9)).unwrap();
        assert_eq!(one, two);
        let other = augment(&input, [16, 3, 8, 8], &params, 10).unwrap();
        assert_ne!(one.unwrap(), other);
    }
}
