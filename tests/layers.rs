//! The import graph runs one way (ARCHITECTURE.md): error_kind → spill, ordered → container →
//! mvcc → dump → adapters → pipeline → cli → bin. Every `crate::<module>` a source file names
//! must be a layer above its own (or its own); `crate::Error` (the wrapper of every layer's
//! error) and `crate::VERSION` only from pipeline up.

use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["error_kind"],
    &["spill", "ordered"],
    &["container"],
    &["mvcc"],
    &["dump"],
    &["adapters"],
    &["error", "Error", "VERSION", "pipeline"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            visit(&p, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
}

#[test]
fn no_module_imports_a_layer_below_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    let mut checked = 0;
    let mut upward = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let Some(own) = layer_of(&top) else {
            continue; // lib.rs, bin/
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(target) = layer_of(&name) else {
                continue;
            };
            checked += 1;
            if target > own {
                upward.push(format!("{}: crate::{name}", rel.display()));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports seen: is the source tree where it should be?"
    );
    assert!(
        upward.is_empty(),
        "imports of a lower layer:\n{}",
        upward.join("\n")
    );
}
