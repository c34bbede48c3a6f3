//! `resize_batch` on any shape and pixels: a batch either resizes to exactly `n` images of the
//! target or is refused with a message, never a panic. The first five bytes choose the input's
//! channels and height/width, the target's size, channels and fit; the rest are pixels, of which
//! as many whole images as fit are used.
#![no_main]

use gancli_kernels::decode::{resize_batch, Channels, Fit, Target, DEFAULT_MAX_PIXELS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, pixels)) = data.split_first_chunk::<5>() else {
        return;
    };
    let c = (head[0] % 5) as usize; // 0 and 5+ must be refused, 1..=4 accepted
    let h = (head[1] % 64) as usize; // 0 must be refused
    let w = (head[2] % 64) as usize;
    let size = (head[3] % 48) as u32 + 1;
    let channels = if head[4] & 1 == 0 {
        Channels::Gray
    } else {
        Channels::Rgb
    };
    let fit = if head[4] & 2 == 0 {
        Fit::Crop
    } else {
        Fit::Pad
    };
    let image = c * h * w;
    let n = pixels.len().checked_div(image).unwrap_or(0).min(4);
    let input = &pixels[..n * image];

    let target = Target::new(size, channels, fit, DEFAULT_MAX_PIXELS).expect("a valid target");
    match resize_batch(input, [n, c, h, w], &target) {
        Ok(out) => {
            assert!((1..=4).contains(&c) && h > 0 && w > 0);
            assert_eq!(out.len(), n * target.image_len());
            // A uniform opaque image stays uniform whatever the resize (the filter sums to one).
            if c == channels as usize && n > 0 && input.iter().all(|&v| v == input[0]) {
                let padded = fit == Fit::Pad && h != w;
                assert!(padded || out.iter().all(|&v| v == input[0]));
            }
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
