//! A MATLAB v5/v7 `.mat` file of the researcher's own (`[dataset] kind = "mat"`), as the LDL
//! benchmark sets are published: an N × F `features` matrix and a one-column label variable
//! (`age`, N × 1 or 1 × N), read into an ordinal task like the CSV kind.
//!
//! The file's variables are first listed from their headers (name, class, complex flag, shape),
//! so a missing, non-numeric, complex or misshapen variable is refused by name, with the variables
//! the file holds; the two numeric variables are then decoded by the `mat5` crate. MATLAB stores
//! arrays column-major: element (r, c) of an N × F matrix is the `r + c·N`-th value.
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::{LabelKind, Labels};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Where the file is and which variables to read.
#[derive(Debug, Clone)]
pub struct MatSpec {
    pub path: PathBuf,
    /// The N × F feature matrix.
    pub features: String,
    /// The N × 1 (or 1 × N) label variable, or the N × C given distributions.
    pub label: String,
    /// Ordinal (a label per row) or given distributions.
    pub kind: LabelKind,
}

/// The 128-byte header of a MAT v5 file, then its data elements.
const HEADER: usize = 128;
/// The signature that starts an HDF5 file (a v7.3 MAT-file holds it at byte 512).
const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";
/// Data element types: a matrix, and a zlib-compressed element.
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
/// The complex bit of the array flags.
const COMPLEX: u32 = 0x0800;

/// One top-level variable as its header declares it, and where its element lies in the file.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    class: u8,
    complex: bool,
    dims: Vec<usize>,
    bytes: std::ops::Range<usize>,
}

impl Entry {
    fn class_name(&self) -> &'static str {
        match self.class {
            1 => "cell",
            2 => "struct",
            3 => "object",
            4 => "char",
            5 => "sparse",
            6 => "double",
            7 => "single",
            8 => "int8",
            9 => "uint8",
            10 => "int16",
            11 => "uint16",
            12 => "int32",
            13 => "uint32",
            14 => "int64",
            15 => "uint64",
            16 => "function handle",
            _ => "opaque",
        }
    }

    fn is_numeric(&self) -> bool {
        (6..=15).contains(&self.class)
    }

    fn shape(&self) -> String {
        self.dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ")
    }
}

/// Reads the file: `[N, F]` f32 features and `[N]` ordinal labels.
pub fn load(spec: &MatSpec) -> Result<Dataset> {
    let bytes = std::fs::read(&spec.path).map_err(|e| Error::io(&spec.path, e))?;
    let entries = contents(&bytes).map_err(|rule| {
        Error::data(
            &spec.path,
            format!("{rule} (reading variables `{}` and `{}`)", spec.features, spec.label),
        )
    })?;
    let fail = |name: &str, rule: String| Error::data(&spec.path, format!("variable `{name}`: {rule}"));
    let features = find(&entries, &spec.features, "features").map_err(|r| Error::data(&spec.path, r))?;
    let label = find(&entries, &spec.label, "label").map_err(|r| Error::data(&spec.path, r))?;
    let &[rows, width] = features.dims.as_slice() else {
        return Err(fail(
            &features.name,
            format!("is {}; the features must be an N × F matrix", features.shape()),
        ));
    };
    if rows == 0 || width == 0 {
        return Err(fail(&features.name, format!("is {}, empty", features.shape())));
    }
    if spec.kind == LabelKind::Distribution {
        let x = values(&spec.path, &bytes, features)?;
        let inputs = row_major(&x, rows, width, &fail, &features.name)?;
        let labels = distributions(&spec.path, &bytes, label, rows)?;
        let source = format!("{} (`{}`, `{}`)", spec.path.display(), features.name, label.name);
        return Ok(Dataset::new("mat", inputs, labels, source)?.with_report(LoadReport::default()));
    }
    match label.dims.as_slice() {
        [n, 1] | [1, n] if *n == rows => {}
        [n, 1] | [1, n] => {
            return Err(fail(
                &label.name,
                format!("has {n} values; `{}` has {rows} rows (one label per row)", features.name),
            ))
        }
        [n, c] if *n == rows => {
            return Err(fail(
                &label.name,
                format!(
                    "is {n} × {c}: given label distributions (one row of {c} per example) are read \
                     with `distribution = \"{}\"` and `[labels] classes` instead of `label`",
                    label.name
                ),
            ))
        }
        _ => {
            return Err(fail(
                &label.name,
                format!("is {}; a label must be N × 1 or 1 × N with N = {rows}", label.shape()),
            ))
        }
    }
    let x = values(&spec.path, &bytes, features)?;
    let y = values(&spec.path, &bytes, label)?;
    let inputs = row_major(&x, rows, width, &fail, &features.name)?;
    let labels = y
        .iter()
        .enumerate()
        .map(|(r, &v)| {
            finite(v).ok_or_else(|| fail(&label.name, format!("row {}, column 1: {v} is not finite", r + 1)))
        })
        .collect::<Result<Vec<f32>>>()?;
    let source = format!("{} (`{}`, `{}`)", spec.path.display(), features.name, label.name);
    Ok(Dataset::new("mat", inputs, Labels::Ordinal(Tensor::from_slice(&labels)), source)?
        .with_report(LoadReport::default()))
}

/// A column-major `rows × width` matrix (MATLAB's order: (r, c) is value r + c·rows) as a row-major
/// f32 tensor; a non-finite value is refused by row and column.
fn row_major(
    x: &[f64],
    rows: usize,
    width: usize,
    fail: &dyn Fn(&str, String) -> Error,
    name: &str,
) -> Result<Tensor> {
    let mut out = Vec::with_capacity(rows * width);
    for r in 0..rows {
        for c in 0..width {
            let v = x[r + c * rows];
            out.push(
                finite(v).ok_or_else(|| {
                    fail(name, format!("row {}, column {}: {v} is not finite", r + 1, c + 1))
                })?,
            );
        }
    }
    Ok(Tensor::from_slice(&out).view([rows as i64, width as i64]))
}

/// The N × C given distributions of `label` (N = `rows`), each row checked and rescaled to sum to 1.
fn distributions(path: &Path, bytes: &[u8], label: &Entry, rows: usize) -> Result<Labels> {
    let fail = |rule: String| Error::data(path, format!("variable `{}`: {rule}", label.name));
    let &[n, classes] = label.dims.as_slice() else {
        return Err(fail(format!("is {}; given distributions must be an N × C matrix", label.shape())));
    };
    if n != rows || classes < 2 {
        return Err(fail(format!(
            "is {n} × {classes}; given distributions need one row per example ({rows}) and at least 2 columns"
        )));
    }
    let y = values(path, bytes, label)?;
    let names: Vec<String> = (1..=classes).map(|c| format!("column {c}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut out = Vec::with_capacity(rows * classes);
    for r in 0..rows {
        let row = (0..classes)
            .map(|c| finite(y[r + c * rows]).ok_or_else(|| format!("{} is not finite", y[r + c * rows])))
            .collect::<std::result::Result<Vec<f32>, String>>()
            .and_then(|row| crate::data::table::given_distribution(row, &names))
            .map_err(|rule| fail(format!("row {}: {rule}", r + 1)))?;
        out.extend(row);
    }
    Ok(Labels::Distribution(Tensor::from_slice(&out).view([rows as i64, classes as i64])))
}

/// The number of rows of the features variable, from the headers alone; `None` where the file
/// cannot be listed or has no such 2-D variable.
pub fn rows(path: &Path, features: &str) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let entries = contents(&bytes).ok()?;
    let e = entries.iter().find(|e| e.name == features)?;
    (e.dims.len() == 2).then(|| e.dims[0])
}

fn finite(v: f64) -> Option<f32> {
    (v.is_finite() && (v as f32).is_finite()).then_some(v as f32)
}

/// The variable called `name`, numeric and real; otherwise why not, with what the file holds.
fn find<'a>(entries: &'a [Entry], name: &str, role: &str) -> std::result::Result<&'a Entry, String> {
    let Some(e) = entries.iter().find(|e| e.name == name) else {
        // A nameless element is MATLAB's subsystem data (objects' storage), not a variable.
        let held: Vec<String> = entries
            .iter()
            .filter(|e| !e.name.is_empty())
            .map(|e| format!("{} ({} {})", e.name, e.class_name(), e.shape()))
            .collect();
        let held = if held.is_empty() { "no variables".to_string() } else { held.join(", ") };
        return Err(format!("has no {role} variable `{name}`; it holds: {held}"));
    };
    if !e.is_numeric() {
        let hint = match e.class {
            5 => "; store it full (`full(...)`)",
            _ => "",
        };
        return Err(format!("variable `{name}` is a {} array, not numeric{hint}", e.class_name()));
    }
    if e.complex {
        return Err(format!("variable `{name}` holds complex numbers; give real values"));
    }
    Ok(e)
}

/// The values of a numeric variable in the file's (column-major) order, decoded by `mat5` from a
/// file of the header and this variable's element alone (so no other variable can stop it).
fn values(path: &Path, bytes: &[u8], e: &Entry) -> Result<Vec<f64>> {
    let mut one = bytes[..HEADER].to_vec();
    one.extend_from_slice(&bytes[e.bytes.clone()]);
    let fail = |rule: String| Error::data(path, format!("variable `{}`: {rule}", e.name));
    let file = mat5::MatFile::read_bytes(&one).map_err(|err| fail(format!("cannot be decoded ({err})")))?;
    let Some(mat5::Matrix::Dense(m)) = file.get(&e.name) else {
        return Err(fail("cannot be decoded as a dense numeric matrix".into()));
    };
    let v = m.values.to_f64();
    if v.len() != e.dims.iter().product::<usize>() || [m.rows, m.cols] != e.dims[..] {
        return Err(fail(format!("holds {} values for a {} array", v.len(), e.shape())));
    }
    Ok(v)
}

/// Lists the top-level variables of a MAT v5/v7 file from their headers.
fn contents(bytes: &[u8]) -> std::result::Result<Vec<Entry>, String> {
    let v73 = "a MATLAB v7.3 (HDF5) file, which this reader cannot read; re-save it in MATLAB with \
               `save(file, ..., '-v7')` (or scipy.io.savemat)";
    if bytes.starts_with(HDF5) || bytes.get(512..520) == Some(HDF5) || bytes.starts_with(b"MATLAB 7.3") {
        return Err(v73.into());
    }
    if bytes.len() < HEADER || !bytes.starts_with(b"MATLAB 5.0") {
        return Err(
            "not a MAT-file of version 5 or 7 (no `MATLAB 5.0 MAT-file` header); save it with `save -v7`"
                .into(),
        );
    }
    match &bytes[126..128] {
        b"IM" => {}
        b"MI" => {
            return Err("a big-endian MAT-file, which this reader cannot read; re-save it with \
                        `save -v7` on a little-endian machine (or scipy.io.savemat)"
                .into())
        }
        _ => return Err("the MAT-file header has no byte-order mark (IM)".into()),
    }
    let mut entries = vec![];
    let mut at = HEADER;
    while at < bytes.len() {
        let k = entries.len() + 1;
        let truncated = || format!("the file is truncated in its variable no. {k} (at byte {at})");
        let (kind, size) =
            (u32_at(bytes, at).ok_or_else(truncated)?, u32_at(bytes, at + 4).ok_or_else(truncated)?);
        let end = at.checked_add(8 + size as usize).filter(|&e| e <= bytes.len()).ok_or_else(truncated)?;
        let body = &bytes[at + 8..end];
        let (header, padded) = match kind {
            MI_MATRIX => (body.to_vec(), end.next_multiple_of(8).min(bytes.len())),
            MI_COMPRESSED => {
                let mut inflated = vec![];
                flate2::read::ZlibDecoder::new(body).take(4096).read_to_end(&mut inflated).map_err(|e| {
                    format!("variable no. {k} (at byte {at}): its compressed data is corrupt ({e})")
                })?;
                if u32_at(&inflated, 0) != Some(MI_MATRIX) {
                    return Err(format!("variable no. {k} (at byte {at}) is not a matrix"));
                }
                (inflated.get(8..).unwrap_or_default().to_vec(), end)
            }
            other => {
                return Err(format!("element no. {k} (at byte {at}) is of type {other}, not a variable"))
            }
        };
        let entry = matrix_header(&header)
            .ok_or_else(|| format!("variable no. {k} (at byte {at}) has a malformed header"))?;
        entries.push(Entry { bytes: at..padded, ..entry });
        at = padded;
    }
    Ok(entries)
}

/// The little-endian word at `at`.
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The flags, dimensions and name that open a matrix element's body.
fn matrix_header(body: &[u8]) -> Option<Entry> {
    // A sub-element: its tag (type, size) or, in the small format, size and type in one word.
    let sub = |at: usize| -> Option<(u32, &[u8], usize)> {
        let word = u32_at(body, at)?;
        if word >> 16 != 0 {
            let (kind, size) = (word & 0xffff, (word >> 16) as usize);
            return Some((kind, body.get(at + 4..at + 4 + size.min(4))?, at + 8));
        }
        let size = u32_at(body, at + 4)? as usize;
        let data = body.get(at + 8..at + 8 + size)?;
        Some((word, data, at + 8 + size.next_multiple_of(8)))
    };
    let (_, flags, at) = sub(0)?;
    let flags = u32_at(flags, 0)?;
    let (_, dims, at) = sub(at)?;
    let dims: Option<Vec<usize>> =
        (0..dims.len() / 4).map(|i| u32_at(dims, 4 * i).map(|d| d as usize)).collect();
    let (_, name, _) = sub(at)?;
    Some(Entry {
        name: String::from_utf8_lossy(name).trim_end_matches('\0').to_string(),
        class: (flags & 0xff) as u8,
        complex: flags & COMPLEX != 0,
        dims: dims?,
        bytes: 0..0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Data types of the format's sub-elements.
    const MI_INT8: u32 = 1;
    const MI_UINT8: u32 = 2;
    const MI_INT32: u32 = 5;
    const MI_UINT32: u32 = 6;
    const MI_DOUBLE: u32 = 9;
    const MI_UTF16: u32 = 17;
    /// Array classes.
    const CELL: u32 = 1;
    const CHAR: u32 = 4;
    const SPARSE: u32 = 5;
    const DOUBLE: u32 = 6;
    const UINT8: u32 = 9;
    const INT32: u32 = 12;

    /// MAT v5 bytes written by hand as the format describes, little- or big-endian.
    struct Mat {
        big: bool,
        bytes: Vec<u8>,
    }

    impl Mat {
        fn new(big: bool) -> Mat {
            let mut bytes = format!("{:<116}", "MATLAB 5.0 MAT-file, written by hand").into_bytes();
            bytes.extend([0; 8]);
            bytes.extend(if big { [1, 0, b'M', b'I'] } else { [0, 1, b'I', b'M'] });
            Mat { big, bytes }
        }

        fn word(&self, v: u32) -> [u8; 4] {
            if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        /// A tagged sub-element padded to 8 bytes.
        fn sub(&self, kind: u32, data: &[u8]) -> Vec<u8> {
            let mut out = [self.word(kind), self.word(data.len() as u32)].concat();
            out.extend(data);
            out.resize(out.len().next_multiple_of(8), 0);
            out
        }

        /// A matrix element: flags, dimensions, name, then `parts` (already tagged).
        fn matrix(&self, name: &str, class: u32, complex: bool, dims: &[u32], parts: &[Vec<u8>]) -> Vec<u8> {
            let flags = [self.word(class | if complex { COMPLEX } else { 0 }), self.word(0)].concat();
            let dims: Vec<u8> = dims.iter().flat_map(|&d| self.word(d)).collect();
            let mut body =
                [self.sub(MI_UINT32, &flags), self.sub(MI_INT32, &dims), self.sub(MI_INT8, name.as_bytes())]
                    .concat();
            body.extend(parts.concat());
            [self.word(MI_MATRIX).as_slice(), &self.word(body.len() as u32), &body].concat()
        }

        fn doubles(&self, v: &[f64]) -> Vec<u8> {
            let data: Vec<u8> =
                v.iter().flat_map(|x| if self.big { x.to_be_bytes() } else { x.to_le_bytes() }).collect();
            self.sub(MI_DOUBLE, &data)
        }

        /// A real double matrix of these column-major values.
        fn double(mut self, name: &str, dims: &[u32], v: &[f64]) -> Mat {
            let e = self.matrix(name, DOUBLE, false, dims, &[self.doubles(v)]);
            self.bytes.extend(e);
            self
        }

        fn push(mut self, element: Vec<u8>) -> Mat {
            self.bytes.extend(element);
            self
        }

        /// The element, zlib-compressed as MATLAB's default `save` writes it.
        fn compressed(&self, element: &[u8]) -> Vec<u8> {
            let mut z = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::default());
            z.write_all(element).unwrap();
            let z = z.finish().unwrap();
            [self.word(MI_COMPRESSED).as_slice(), &self.word(z.len() as u32), &z].concat()
        }
    }

    /// Features 3 × 2 (rows [1, 2], [3, 4], [5, 6]) stored column-major, as MATLAB does.
    const FEATURES: [f64; 6] = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];

    fn write(bytes: &[u8]) -> (tempfile::TempDir, MatSpec) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ldl.mat");
        std::fs::write(&path, bytes).unwrap();
        (dir, MatSpec { path, features: "features".into(), label: "age".into(), kind: LabelKind::Ordinal })
    }

    fn ages(m: &Mat, dims: &[u32]) -> Vec<u8> {
        let v: Vec<u8> = [30u32, 41, 52].iter().flat_map(|&a| m.word(a)).collect();
        m.matrix("age", INT32, false, dims, &[m.sub(MI_INT32, &v)])
    }

    fn check(d: &Dataset) {
        assert_eq!(d.inputs.size(), vec![3, 2]);
        assert_eq!(Vec::<f32>::try_from(d.inputs.view([-1])).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let Labels::Ordinal(y) = &d.labels else { panic!("ordinal labels") };
        assert_eq!(Vec::<f32>::try_from(y).unwrap(), vec![30.0, 41.0, 52.0]);
    }

    #[test]
    fn reads_column_major_features_and_an_integer_label() {
        {
            let m = Mat::new(false);
            let note = m.matrix("note", CHAR, false, &[1, 2], &[m.sub(MI_UTF16, &[0, 104, 0, 105])]);
            let label = ages(&m, &[3, 1]);
            let m = m.push(note).double("features", &[3, 2], &FEATURES).push(label);
            let (_d, s) = write(&m.bytes);
            check(&load(&s).unwrap());
            assert_eq!(rows(&s.path, "features"), Some(3));
        }
        // A 1 × N label, compressed elements, uint8 labels stored in a double array.
        let m = Mat::new(false);
        let f = m.matrix("features", DOUBLE, false, &[3, 2], &[m.doubles(&FEATURES)]);
        let a = m.matrix("age", DOUBLE, false, &[1, 3], &[m.sub(MI_UINT8, &[30, 41, 52])]);
        let (f, a) = (m.compressed(&f), m.compressed(&a));
        let (_d, s) = write(&m.push(a).push(f).bytes);
        check(&load(&s).unwrap());
        let m = Mat::new(false);
        let a = m.matrix("years", UINT8, false, &[3, 1], &[m.sub(MI_UINT8, &[30, 41, 52])]);
        let (_d, mut s) = write(&m.double("x", &[3, 2], &FEATURES).push(a).bytes);
        (s.features, s.label) = ("x".into(), "years".into());
        check(&load(&s).unwrap());
    }

    #[test]
    fn every_malformed_file_is_refused_naming_the_file_and_variable() {
        let base = || Mat::new(false).double("features", &[3, 2], &FEATURES);
        let with_age = |m: Mat, dims: &[u32]| {
            let a = ages(&m, dims);
            m.push(a)
        };
        let mut v73 =
            format!("{:<116}", "MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00").into_bytes();
        v73.resize(512, 0);
        v73.extend(HDF5);
        v73.resize(1024, 0);
        let mut nan = FEATURES;
        nan[1] = f64::NAN;
        let mut large = FEATURES;
        large[5] = 1e39;
        let m = Mat::new(false);
        let complex = m.matrix("age", DOUBLE, true, &[3, 1], &[m.doubles(&[1.0; 3]), m.doubles(&[0.5; 3])]);
        let sparse = m.matrix("age", SPARSE, false, &[3, 1], &[]);
        let char_age = m.matrix("age", CHAR, false, &[3, 1], &[m.sub(MI_UTF16, &[0; 6])]);
        let cell = m.matrix("features", CELL, false, &[3, 2], &[]);
        let truncated = with_age(base(), &[3, 1]).bytes;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (v73, "a MATLAB v7.3 (HDF5) file"),
            ([HDF5, &[0; 200]].concat(), "`save(file, ..., '-v7')`"),
            (b"\x00\x00\x00\x00not a mat file".repeat(20), "not a MAT-file of version 5 or 7"),
            (with_age(Mat::new(true).double("features", &[3, 2], &FEATURES), &[3, 1]).bytes, "a big-endian MAT-file"),
            (base().bytes, "has no label variable `age`; it holds: features (double 3 × 2)"),
            (with_age(Mat::new(false).double("features", &[3, 2, 1], &FEATURES), &[3, 1]).bytes, "variable `features`: is 3 × 2 × 1; the features must be an N × F matrix"),
            (with_age(Mat::new(false).double("features", &[0, 0], &[]), &[1, 1]).bytes, "variable `features`: is 0 × 0, empty"),
            (base().double("age", &[2, 1], &[1.0, 2.0]).bytes, "variable `age`: has 2 values; `features` has 3 rows"),
            (base().double("age", &[3, 2], &[0.5; 6]).bytes, "variable `age`: is 3 × 2: given label distributions"),
            (base().double("age", &[2, 2], &[0.5; 4]).bytes, "variable `age`: is 2 × 2; a label must be N × 1 or 1 × N with N = 3"),
            (base().push(complex).bytes, "variable `age` holds complex numbers"),
            (base().push(sparse).bytes, "variable `age` is a sparse array, not numeric; store it full"),
            (base().push(char_age).bytes, "variable `age` is a char array, not numeric"),
            (with_age(Mat::new(false).push(cell), &[3, 1]).bytes, "variable `features` is a cell array, not numeric"),
            (with_age(Mat::new(false).double("features", &[3, 2], &nan), &[3, 1]).bytes, "variable `features`: row 2, column 1: NaN is not finite"),
            (with_age(Mat::new(false).double("features", &[3, 2], &large), &[3, 1]).bytes, "variable `features`: row 3, column 2: 1000000000000000000000000000000000000000 is not finite"),
            (base().double("age", &[3, 1], &[1.0, f64::INFINITY, 2.0]).bytes, "variable `age`: row 2, column 1: inf is not finite"),
            (truncated[..truncated.len() - 5].to_vec(), "the file is truncated in its variable no. 2"),
        ];
        for (bytes, needle) in cases {
            let (_d, s) = write(&bytes);
            let err = load(&s).err().unwrap_or_else(|| panic!("{needle}: accepted")).to_string();
            assert!(err.contains("ldl.mat") && err.contains(needle), "{needle}: {err}");
        }
    }
}
