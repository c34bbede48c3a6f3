//! Any bytes given to the image decoders either decode to an image that obeys the pixel limit or
//! fail with a `Failure`: never a panic, a hang, or memory beyond the limit.
//!
//! The input is the whole file, so the corpus holds plain image files; the channels, output size
//! fit and background are taken from its length, so mutations that grow or shrink a file also vary them.
//! Each input goes through both paths the bindings use: `decode_pixels` (full size, zune-jpeg for
//! JPEG) and `decode_into` (sized for a target: DCT-domain scaling through jpeg-decoder, then the
//! bicubic resize and fit).
#![no_main]

use gancli_kernels::decode::{decode_into, decode_pixels, dimensions, Channels, Fit, Target};
use gancli_kernels::sniff::{sniff, SNIFF_LEN};
use gancli_kernels::ErrorKind;
use libfuzzer_sys::fuzz_target;

/// Smaller than the default limit so one input costs milliseconds, not seconds; the limit is
/// checked by the same code whatever its value.
const MAX_PIXELS: u64 = 1 << 22;

/// libfuzzer-sys aborts on every panic from its hook, before any unwinding; the kernels catch a decoder's panic
/// (zune-jpeg's, on the regression corpus) and report the file as corrupt, as a user's run sees it. This hook
/// only prints, so that such a caught panic passes and any other still reaches libfuzzer-sys's own
/// `catch_unwind`, which aborts: a crash.
fn print_panics_only() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

fuzz_target!(|data: &[u8]| {
    print_panics_only();
    let n = data.len();
    let channels = if n.is_multiple_of(2) {
        Channels::Rgb
    } else {
        Channels::Gray
    };
    let fit = if (n / 2).is_multiple_of(2) {
        Fit::Crop
    } else {
        Fit::Pad
    };
    let size = (n / 4 % 24) as u32 + 1;

    let sniffed = sniff(&data[..n.min(SNIFF_LEN)]);
    let background = [n as u8, (n >> 8) as u8, 255 - n as u8];
    match decode_pixels(data, channels, background, MAX_PIXELS) {
        Ok(pixels) => {
            // the header pass that sizes a dataset reads what decoding produces
            assert_eq!(dimensions(data).ok(), Some((pixels.width, pixels.height)));
            assert!(sniffed.is_some(), "decoded bytes that sniff calls no image");
            assert!(pixels.width > 0 && pixels.height > 0);
            assert!(pixels.width as u64 * pixels.height as u64 <= MAX_PIXELS);
            assert_eq!(pixels.channels, channels as u8);
            let expected = pixels.width as usize * pixels.height as usize * channels as usize;
            assert_eq!(pixels.data.len(), expected);
        }
        Err(failure) => {
            if sniffed.is_none() {
                assert!(matches!(
                    failure.kind,
                    ErrorKind::Empty | ErrorKind::NotAnImage
                ));
            }
        }
    }

    let target = Target::new(size, channels, fit, MAX_PIXELS)
        .expect("a valid target")
        .with_background(background);
    let mut out = vec![0u8; target.image_len()];
    if decode_into(data, &target, &mut out).is_ok() {
        assert!(sniffed.is_some(), "decoded bytes that sniff calls no image");
    }
});
