//! `gancli._native`: PyO3 bindings over `gancli-kernels`.
//!
//! Each function converts its arguments, releases the GIL (`Python::detach`) for the work and
//! maps errors to Python exceptions. `gancli.kernels` is the documented Python face of this
//! module; nothing else imports it.

use std::path::PathBuf;

use gancli_kernels::augment::AugmentParams;
use gancli_kernels::decode::{self, BatchError, Channels, Fit, Rgb, Target};
use gancli_kernels::encode::{self, Compression, Samples};
use numpy::ndarray::Array4;
use numpy::{
    IntoPyArray, PyArray4, PyArrayMethods, PyReadonlyArray4, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

create_exception!(
    _native,
    ImageError,
    PyValueError,
    "An image could not be read or decoded; the message starts with the file's path."
);

type Decoded<'py> = (Bound<'py, PyArray4<u8>>, Vec<(String, String)>);

/// An argument refused by the kernels, whose message says why.
fn invalid(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn target(
    size: u32,
    channels: u8,
    fit: &str,
    background: Rgb,
    max_pixels: u64,
) -> PyResult<Target> {
    let channels = Channels::try_from(channels).map_err(invalid)?;
    let fit = Fit::parse(fit).map_err(invalid)?;
    Ok(Target::new(size, channels, fit, max_pixels)
        .map_err(invalid)?
        .with_background(background))
}

/// The augmentation spec from any object with its attributes (`gancli.kernels.AugmentSpec`).
fn augment_params(spec: &Bound<'_, PyAny>) -> PyResult<AugmentParams> {
    let number = |name: &str| -> PyResult<f32> { spec.getattr(name)?.extract() };
    Ok(AugmentParams {
        flip_p: number("flip_p")?,
        translate_p: number("translate_p")?,
        translate: number("translate")?,
        translate_reflect: spec.getattr("translate_reflect")?.extract()?,
        cutout_p: number("cutout_p")?,
        cutout: number("cutout")?,
        brightness_p: number("brightness_p")?,
        brightness: number("brightness")?,
        contrast_p: number("contrast_p")?,
        contrast: number("contrast")?,
        saturation_p: number("saturation_p")?,
        saturation: number("saturation")?,
    })
}

fn batch_to_python<'py>(
    py: Python<'py>,
    result: Result<decode::Batch, BatchError>,
    target: &Target,
) -> PyResult<Decoded<'py>> {
    let batch = result.map_err(|e| match e {
        BatchError::Invalid(message) => invalid(message),
        BatchError::Image(err) => ImageError::new_err(err.to_string()),
    })?;
    let s = target.size() as usize;
    let shape = (batch.count, target.channels() as usize, s, s);
    let array = Array4::from_shape_vec(shape, batch.data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let skipped = batch
        .skipped
        .into_iter()
        .map(|(_, err)| (err.path.clone(), err.reason()))
        .collect();
    Ok((array.into_pyarray(py), skipped))
}

/// Decode image files into a (N, C, size, size) uint8 array; returns (array, skipped).
#[pyfunction]
#[pyo3(signature = (paths, size, channels, fit, background, skip_bad, threads, max_pixels))]
#[allow(clippy::too_many_arguments)]
fn decode_paths<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    size: u32,
    channels: u8,
    fit: &str,
    background: Rgb,
    skip_bad: bool,
    threads: Option<usize>,
    max_pixels: u64,
) -> PyResult<Decoded<'py>> {
    let target = target(size, channels, fit, background, max_pixels)?;
    let result = py
        .detach(|| {
            gancli_kernels::with_threads(threads, || {
                decode::decode_files(&paths, &target, skip_bad)
            })
        })
        .map_err(invalid)?;
    batch_to_python(py, result, &target)
}

/// Decode in-memory encoded images (named for errors) into a (N, C, size, size) uint8 array.
#[pyfunction]
#[pyo3(signature = (blobs, names, size, channels, fit, background, skip_bad, threads, max_pixels))]
#[allow(clippy::too_many_arguments)]
fn decode_blobs<'py>(
    py: Python<'py>,
    blobs: Vec<Bound<'py, PyBytes>>,
    names: Vec<String>,
    size: u32,
    channels: u8,
    fit: &str,
    background: Rgb,
    skip_bad: bool,
    threads: Option<usize>,
    max_pixels: u64,
) -> PyResult<Decoded<'py>> {
    let target = target(size, channels, fit, background, max_pixels)?;
    let slices: Vec<&[u8]> = blobs.iter().map(|b| b.as_bytes()).collect();
    let result = py
        .detach(|| {
            gancli_kernels::with_threads(threads, || {
                decode::decode_blobs(&slices, &names, &target, skip_bad)
            })
        })
        .map_err(invalid)?;
    batch_to_python(py, result, &target)
}

/// Decode one encoded image to an (H, W, C) uint8 array at its own size.
#[pyfunction]
#[pyo3(signature = (blob, name, channels, background, max_pixels))]
fn decode_image<'py>(
    py: Python<'py>,
    blob: &Bound<'py, PyBytes>,
    name: &str,
    channels: u8,
    background: Rgb,
    max_pixels: u64,
) -> PyResult<Bound<'py, numpy::PyArray3<u8>>> {
    let channels = Channels::try_from(channels).map_err(invalid)?;
    let bytes = blob.as_bytes();
    let pixels = py
        .detach(|| decode::decode_pixels(bytes, channels, background, max_pixels))
        .map_err(|f| ImageError::new_err(gancli_kernels::ImageError::new(name, f).to_string()))?;
    let shape = (
        pixels.height as usize,
        pixels.width as usize,
        pixels.channels as usize,
    );
    let array = numpy::ndarray::Array3::from_shape_vec(shape, pixels.data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Resize a contiguous (N, C, H, W) uint8 batch (C: 1 to 4) to (N, channels, size, size) with
/// decoding's channel conversion, filter and fit.
#[pyfunction]
#[pyo3(signature = (batch, size, channels, fit, background, threads))]
fn resize_images<'py>(
    py: Python<'py>,
    batch: PyReadonlyArray4<'py, u8>,
    size: u32,
    channels: u8,
    fit: &str,
    background: Rgb,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray4<u8>>> {
    let target = target(size, channels, fit, background, decode::DEFAULT_MAX_PIXELS)?;
    let dims = batch.shape();
    let shape = [dims[0], dims[1], dims[2], dims[3]];
    let input = batch
        .as_slice()
        .map_err(|_| PyValueError::new_err("batch must be C-contiguous"))?;
    let out = py
        .detach(|| {
            gancli_kernels::with_threads(threads, || decode::resize_batch(input, shape, &target))
        })
        .map_err(invalid)?
        .map_err(invalid)?;
    let s = size as usize;
    let array = Array4::from_shape_vec((shape[0], target.channels() as usize, s, s), out)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// The (width, height) each image file declares, or None where it cannot be read or parsed.
#[pyfunction]
#[pyo3(signature = (paths, threads))]
fn image_sizes(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    threads: Option<usize>,
) -> PyResult<Vec<Option<(u32, u32)>>> {
    py.detach(|| gancli_kernels::with_threads(threads, || decode::file_dimensions(&paths)))
        .map_err(invalid)
}

/// The (width, height) each in-memory encoded image declares, or None where it cannot be parsed.
#[pyfunction]
#[pyo3(signature = (blobs, threads))]
fn image_sizes_of_bytes<'py>(
    py: Python<'py>,
    blobs: Vec<Bound<'py, PyBytes>>,
    threads: Option<usize>,
) -> PyResult<Vec<Option<(u32, u32)>>> {
    let slices: Vec<&[u8]> = blobs.iter().map(|b| b.as_bytes()).collect();
    py.detach(|| gancli_kernels::with_threads(threads, || decode::blob_dimensions(&slices)))
        .map_err(invalid)
}

/// The format announced by an encoded image's first bytes: "png", "jpeg", "gif", "bmp", "webp"
/// or None.
#[pyfunction]
fn image_format(data: &[u8]) -> Option<&'static str> {
    gancli_kernels::sniff::sniff(data).map(|format| format.name())
}

/// Image files under `root` (by content or image extension), sorted, hidden entries skipped.
#[pyfunction]
fn find_images(py: Python<'_>, root: PathBuf) -> PyResult<Vec<PathBuf>> {
    py.detach(|| gancli_kernels::find::find_images(&root))
        .map_err(|e| PyOSError::new_err(format!("{}: cannot scan: {e}", root.display())))
}

/// Augment a contiguous (N, C, H, W) uint8 batch as `spec` (an object with `AugmentParams`'
/// fields as attributes) says; returns a new array.
#[pyfunction]
#[pyo3(signature = (batch, spec, seed, threads))]
fn augment<'py>(
    py: Python<'py>,
    batch: PyReadonlyArray4<'py, u8>,
    spec: &Bound<'py, PyAny>,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray4<u8>>> {
    let params = augment_params(spec)?;
    let dims = batch.shape();
    let shape = [dims[0], dims[1], dims[2], dims[3]];
    let input = batch
        .as_slice()
        .map_err(|_| PyValueError::new_err("batch must be C-contiguous"))?;
    let out = py
        .detach(|| {
            gancli_kernels::with_threads(threads, || {
                gancli_kernels::augment::augment(input, shape, &params, seed)
            })
        })
        .map_err(invalid)?
        .map_err(invalid)?;
    let array = Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), out)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

fn compression(name: &str) -> PyResult<Compression> {
    Compression::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "compression must be 'fast', 'default' or 'best', not {name:?}"
        ))
    })
}

/// Tile a contiguous (N, C, H, W) float32 ([-1, 1]) or uint8 batch like make_grid and encode it as PNG.
#[pyfunction]
#[pyo3(signature = (batch, nrow, padding, pad_value, compression))]
fn encode_grid_png<'py>(
    py: Python<'py>,
    batch: &Bound<'py, PyAny>,
    nrow: usize,
    padding: usize,
    pad_value: u8,
    compression: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let level = self::compression(compression)?;
    let not_contiguous = |_| PyValueError::new_err("batch must be C-contiguous");
    let encode = |samples: Samples<'_>, shape: [usize; 4]| {
        py.detach(|| {
            let grid = encode::make_grid(samples, shape, nrow, padding, pad_value)?;
            encode::encode_png(&grid.data, grid.width, grid.height, grid.channels, level)
        })
        .map_err(invalid)
    };
    let shape4 = |s: &[usize]| -> PyResult<[usize; 4]> {
        match s {
            [n, c, h, w] => Ok([*n, *c, *h, *w]),
            _ => Err(PyValueError::new_err(format!(
                "batch must be (N, C, H, W), got shape {s:?}"
            ))),
        }
    };
    let png = if let Ok(array) = batch.cast::<numpy::PyArrayDyn<f32>>() {
        let readonly = array.readonly();
        let shape = shape4(readonly.shape())?;
        encode(
            Samples::F32(readonly.as_slice().map_err(not_contiguous)?),
            shape,
        )?
    } else if let Ok(array) = batch.cast::<numpy::PyArrayDyn<u8>>() {
        let readonly = array.readonly();
        let shape = shape4(readonly.shape())?;
        encode(
            Samples::U8(readonly.as_slice().map_err(not_contiguous)?),
            shape,
        )?
    } else {
        return Err(PyValueError::new_err(
            "batch must be a float32 or uint8 numpy array",
        ));
    };
    Ok(PyBytes::new(py, &png))
}

fn hwc(shape: &[usize]) -> PyResult<(u32, u32, u8)> {
    let (h, w, c) = match shape {
        [h, w] => (*h, *w, 1),
        [h, w, c] => (*h, *w, *c),
        _ => {
            return Err(PyValueError::new_err(format!(
                "image must be (H, W) or (H, W, C), got shape {shape:?}"
            )))
        }
    };
    let too_big = |_| PyValueError::new_err(format!("image shape {shape:?} is too large"));
    Ok((
        u32::try_from(w).map_err(too_big)?,
        u32::try_from(h).map_err(too_big)?,
        u8::try_from(c)
            .map_err(|_| PyValueError::new_err(format!("cannot encode {c} channels")))?,
    ))
}

/// Encode one contiguous (H, W) or (H, W, C) uint8 image as PNG.
#[pyfunction]
#[pyo3(signature = (image, compression))]
fn encode_png<'py>(
    py: Python<'py>,
    image: PyReadonlyArrayDyn<'py, u8>,
    compression: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let level = self::compression(compression)?;
    let (w, h, c) = hwc(image.shape())?;
    let data = image
        .as_slice()
        .map_err(|_| PyValueError::new_err("image must be C-contiguous"))?;
    let png = py
        .detach(|| encode::encode_png(data, w, h, c, level))
        .map_err(invalid)?;
    Ok(PyBytes::new(py, &png))
}

/// Encode equally shaped contiguous (H, W, C) uint8 frames as a looping APNG.
#[pyfunction]
#[pyo3(signature = (frames, delay_ms))]
fn encode_apng<'py>(
    py: Python<'py>,
    frames: Vec<PyReadonlyArrayDyn<'py, u8>>,
    delay_ms: u16,
) -> PyResult<Bound<'py, PyBytes>> {
    let first = frames
        .first()
        .ok_or_else(|| PyValueError::new_err("an animation needs at least one frame"))?;
    let (w, h, c) = hwc(first.shape())?;
    let mut slices = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        if hwc(frame.shape())? != (w, h, c) {
            return Err(PyValueError::new_err(format!(
                "frame {i} has shape {:?}, frame 0 has {:?}",
                frame.shape(),
                first.shape()
            )));
        }
        slices.push(
            frame
                .as_slice()
                .map_err(|_| PyValueError::new_err("frames must be C-contiguous"))?,
        );
    }
    let png = py
        .detach(|| encode::encode_apng(&slices, w, h, c, delay_ms))
        .map_err(invalid)?;
    Ok(PyBytes::new(py, &png))
}

/// XXH3-64 of a contiguous uint8 array (any shape; a numpy.memmap works and is read in place).
#[pyfunction]
fn xxh3_64(py: Python<'_>, data: PyReadonlyArrayDyn<'_, u8>) -> PyResult<u64> {
    let bytes = data
        .as_slice()
        .map_err(|_| PyValueError::new_err("data must be C-contiguous"))?;
    Ok(py.detach(|| gancli_kernels::checksum::xxh3_64(bytes)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ImageError", m.py().get_type::<ImageError>())?;
    m.add("DEFAULT_MAX_PIXELS", decode::DEFAULT_MAX_PIXELS)?;
    m.add("FITS", PyTuple::new(m.py(), Fit::NAMES)?)?;
    m.add(
        "IMAGE_EXTENSIONS",
        PyTuple::new(m.py(), gancli_kernels::sniff::IMAGE_EXTENSIONS)?,
    )?;
    m.add_function(wrap_pyfunction!(decode_paths, m)?)?;
    m.add_function(wrap_pyfunction!(decode_blobs, m)?)?;
    m.add_function(wrap_pyfunction!(decode_image, m)?)?;
    m.add_function(wrap_pyfunction!(resize_images, m)?)?;
    m.add_function(wrap_pyfunction!(image_sizes, m)?)?;
    m.add_function(wrap_pyfunction!(image_sizes_of_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(image_format, m)?)?;
    m.add_function(wrap_pyfunction!(find_images, m)?)?;
    m.add_function(wrap_pyfunction!(augment, m)?)?;
    m.add_function(wrap_pyfunction!(encode_grid_png, m)?)?;
    m.add_function(wrap_pyfunction!(encode_png, m)?)?;
    m.add_function(wrap_pyfunction!(encode_apng, m)?)?;
    m.add_function(wrap_pyfunction!(xxh3_64, m)?)?;
    Ok(())
}
