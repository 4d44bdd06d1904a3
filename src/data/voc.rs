//! PASCAL VOC detection annotations (`Annotations/*.xml`) as multi-label targets with the `difficult` flag.
//! Per class: Positive if any object is not difficult, Difficult if all its objects are, Negative if none.
use super::image::decode_all;
use crate::config::ImageOptions;
use crate::data::dataset::{Dataset, LoadReport};
use crate::domain::Labels;
use crate::error::{Error, Result};
use crate::label::{DIFFICULT, NEGATIVE, POSITIVE};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The twenty PASCAL VOC classes, in the official order.
pub const VOC_CLASSES: [&str; 20] = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
];

/// One annotation: the image file and the P/D/N code per class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The image, from `<filename>` under `JPEGImages/`.
    pub image: PathBuf,
    /// P/D/N code per class (2 / 1 / 0).
    pub codes: Vec<i64>,
}

/// Parse one annotation file against `classes`; an unknown class name is an error naming the file.
pub fn parse_annotation(xml_path: &Path, root: &Path, classes: &[String]) -> Result<Annotation> {
    let text = std::fs::read_to_string(xml_path).map_err(|e| Error::io(xml_path, e))?;
    let doc =
        roxmltree::Document::parse(&text).map_err(|e| Error::data(xml_path, format!("invalid XML: {e}")))?;
    let top = doc.root_element();
    let child_text = |node: roxmltree::Node, tag: &str| {
        node.children().find(|c| c.has_tag_name(tag)).and_then(|c| c.text()).map(|t| t.trim().to_string())
    };
    let filename = child_text(top, "filename").unwrap_or_else(|| stem(xml_path) + ".jpg");
    let mut codes = vec![NEGATIVE; classes.len()];
    for object in top.children().filter(|c| c.has_tag_name("object")) {
        let name =
            child_text(object, "name").ok_or_else(|| Error::data(xml_path, "an <object> without <name>"))?;
        let class = classes.iter().position(|c| *c == name).ok_or_else(|| {
            Error::data(xml_path, format!("object class `{name}` is not in the task's [labels] classes"))
        })?;
        let difficult = match child_text(object, "difficult").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(Error::data(xml_path, format!("<difficult> must be 0 or 1, got `{other}`")))
            }
        };
        let code = if difficult { DIFFICULT } else { POSITIVE };
        codes[class] = codes[class].max(code);
    }
    Ok(Annotation { image: root.join("JPEGImages").join(filename), codes })
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

/// Annotation files under `root/Annotations`, sorted.
fn annotation_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("Annotations");
    let read = std::fs::read_dir(&dir)
        .map_err(|e| Error::data(&dir, format!("cannot read VOC annotations: {e}")))?;
    let mut files = Vec::new();
    for entry in read {
        let path = entry.map_err(|e| Error::io(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "xml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Load a VOC-style folder (`Annotations/`, `JPEGImages/`): images and `[N, C]` P/D/N labels.
pub fn load(root: &Path, classes: &[String], options: &ImageOptions) -> Result<Dataset> {
    let files = annotation_files(root)?;
    if files.is_empty() {
        return Err(Error::data(root.join("Annotations"), "no .xml annotation files"));
    }
    let annotations: Vec<Annotation> =
        files.iter().map(|f| parse_annotation(f, root, classes)).collect::<Result<_>>()?;
    let images: Vec<PathBuf> = annotations.iter().map(|a| a.image.clone()).collect();
    let decoded = decode_all(&images, options)?;
    let codes: Vec<i64> = decoded.kept.iter().flat_map(|&i| annotations[i].codes.clone()).collect();
    let labels = Labels::MultiLabel(Tensor::from_slice(&codes).view([-1, classes.len() as i64]));
    let report = LoadReport { unparsed: Vec::new(), skipped: decoded.skipped };
    Ok(Dataset::new("voc", decoded.inputs, labels, root.display().to_string())?.with_report(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, id: &str, objects: &[(&str, u8)]) {
        let mut xml = format!("<annotation><folder>VOC</folder><filename>{id}.jpg</filename>");
        for (name, difficult) in objects {
            xml += &format!("<object><name>{name}</name><truncated>0</truncated><difficult>{difficult}</difficult></object>");
        }
        xml += "</annotation>";
        std::fs::write(root.join(format!("Annotations/{id}.xml")), xml).unwrap();
        ::image::RgbImage::from_pixel(12, 9, ::image::Rgb([1, 2, 3]))
            .save(root.join(format!("JPEGImages/{id}.jpg")))
            .unwrap();
    }

    #[test]
    fn difficult_flag_gives_pdn_codes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("Annotations")).unwrap();
        std::fs::create_dir_all(root.join("JPEGImages")).unwrap();
        write(root, "0001", &[("dog", 0), ("cat", 1)]);
        write(root, "0002", &[("cat", 1), ("cat", 0), ("person", 1)]);
        let classes: Vec<String> = ["cat", "dog", "person"].map(String::from).to_vec();
        let d = load(root, &classes, &ImageOptions { size: 8, ..ImageOptions::default() }).unwrap();
        assert_eq!(d.inputs.size(), vec![2, 1, 8, 8]);
        assert_eq!(Vec::<i64>::try_from(d.labels.tensor().view([-1])).unwrap(), vec![1, 2, 0, 2, 0, 1]);
        write(root, "0003", &[("horse", 0)]);
        let err = load(root, &classes, &ImageOptions::default()).unwrap_err().to_string();
        assert!(err.contains("0003.xml") && err.contains("horse"), "{err}");
    }

    #[test]
    fn voc_classes_are_twenty() {
        assert_eq!(VOC_CLASSES.len(), 20);
    }
}
