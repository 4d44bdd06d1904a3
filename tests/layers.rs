//! The library's layer order, checked on its sources: no top-level module imports one above it
//! (docs/architecture.md), and no two source files import each other, directly or around a circle.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the ground up; a module may name only those before it.
const LAYERS: [&str; 15] = [
    "error",
    "stats",
    "runtime",
    "label",
    "domain",
    "family",
    "model",
    "config",
    "data",
    "rundir",
    "train",
    "meta",
    "fewshot",
    "report",
    "benchmark",
];

/// Every `.rs` file under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The module path of a library source file (`src/train/member.rs` → `train::member`).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The library's files with their module paths (the binary's `main.rs` and `cli/` are the edge).
fn library() -> Vec<(PathBuf, Vec<String>)> {
    sources(&src())
        .into_iter()
        .filter(|f| !f.starts_with(src().join("cli")) && !f.ends_with("main.rs"))
        .map(|f| {
            let m = module_of(&f);
            (f, m)
        })
        .collect()
}

/// The code of `text` without comments (from `//` to the end of a line).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("")))
}

/// The `::`-separated identifiers after each `prefix::` in `line` (`crate::train::member::Member`
/// → `["train", "member", "Member"]`).
fn paths_after<'a>(line: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let needle = format!("{prefix}::");
    let mut out = vec![];
    let mut from = 0;
    while let Some(at) = line[from..].find(&needle) {
        let start = from + at;
        let boundary = start == 0 || !line[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        from = start + needle.len();
        if !boundary {
            continue;
        }
        let rest = &line[from..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        out.push(rest[..end].split("::").filter(|s| !s.is_empty()).collect());
    }
    out
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let mut violations = vec![];
    for (file, module) in library() {
        let Some(own) = module.first().and_then(|m| LAYERS.iter().position(|l| l == m)) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, code) in code_lines(&text) {
            for path in paths_after(code, "crate") {
                let Some(target) = path.first().and_then(|m| LAYERS.iter().position(|l| l == m)) else {
                    continue;
                };
                if target > own {
                    violations.push(format!(
                        "{}:{line}: {} uses crate::{}",
                        file.display(),
                        LAYERS[own],
                        path.join("::")
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "imports up the layer order:\n{}", violations.join("\n"));
}

/// Each file's module → the modules its non-test code names (by `crate::` or `super::` paths).
fn file_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = library();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(_, m)| m.clone()).collect();
    let resolve = |full: Vec<String>| -> Option<Vec<String>> {
        (1..=full.len()).rev().map(|k| full[..k].to_vec()).find(|p| modules.contains(p))
    };
    let mut graph = BTreeMap::new();
    for (file, me) in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut named = BTreeSet::new();
        for (_, line) in code_lines(code) {
            let crate_paths =
                paths_after(line, "crate").into_iter().map(|p| p.iter().map(|s| s.to_string()).collect());
            let parent = me[..me.len().saturating_sub(1)].to_vec();
            let super_paths = paths_after(line, "super").into_iter().map(|p| {
                let mut full = parent.clone();
                full.extend(p.iter().map(|s| s.to_string()));
                full
            });
            for target in crate_paths.chain(super_paths).filter_map(resolve) {
                // A module naming itself or one of its ancestors (its own `mod.rs`) is no edge.
                if !me.starts_with(&target) {
                    named.insert(target);
                }
            }
        }
        graph.insert(me.clone(), named);
    }
    graph
}

#[test]
fn no_source_files_import_each_other_in_a_circle() {
    let graph = file_graph();
    let mut circles = BTreeSet::new();
    fn walk(
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        circles: &mut BTreeSet<String>,
    ) {
        let here = path.last().unwrap().clone();
        for next in graph.get(&here).into_iter().flatten() {
            if let Some(at) = path.iter().position(|p| p == next) {
                let names: Vec<String> = path[at..].iter().chain([next]).map(|m| m.join("::")).collect();
                circles.insert(names.join(" → "));
            } else if !done.contains(next) {
                path.push(next.clone());
                walk(graph, path, done, circles);
                path.pop();
            }
        }
        done.insert(here);
    }
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if !done.contains(start) {
            walk(&graph, &mut vec![start.clone()], &mut done, &mut circles);
        }
    }
    assert!(
        circles.is_empty(),
        "source files importing each other:\n{}",
        circles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_checks_see_imports_and_circles() {
    // The scanner finds paths after `crate::` and `super::`, not inside longer names.
    assert_eq!(
        paths_after("use crate::train::member::{Member, TrainData};", "crate"),
        vec![vec!["train", "member"]]
    );
    assert_eq!(paths_after("let x = mycrate::a::b + crate::c::D;", "crate"), vec![vec!["c", "D"]]);
    // The graph holds the edges the layer order relies on (a known downward import).
    let graph = file_graph();
    let member =
        graph.get(&vec!["train".to_string(), "member".to_string()]).expect("train::member is a module");
    assert!(member.contains(&vec!["domain".to_string()]), "{member:?}");
    assert!(member.contains(&vec!["train".to_string(), "method".to_string()]), "{member:?}");
}

#[test]
fn no_two_library_files_share_a_name() {
    // `family/X.rs` is the spec of `label/X.rs`'s mathematics; `mod.rs` names a folder.
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, module) in library() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let folder = module.first().cloned().unwrap_or_default();
        if name == "mod.rs" || name == "lib.rs" || folder == "family" || folder == "label" {
            continue;
        }
        seen.entry(name).or_default().push(module.join("::"));
    }
    let twins: Vec<String> = seen
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(n, m)| format!("{n}: {}", m.join(", ")))
        .collect();
    assert!(twins.is_empty(), "file names used twice:\n{}", twins.join("\n"));
}
