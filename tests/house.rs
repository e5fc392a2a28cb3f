//! The house rules the code itself can check: the top-level modules import
//! each other one way only (no cycle, directly or through others), no
//! source file holds more than 800 lines, and `unsafe` appears only where
//! the global allocator is set up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The module path of a file under `src/` (`src/sla/clock.rs` → `sla::clock`).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The code without comments (line, doc and block comments) and without
/// the contents of string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let (mut in_str, mut escape) = (false, false);
    while let Some(c) = chars.next() {
        if in_str {
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                in_str = false;
                out.push('"');
            }
            continue;
        }
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            ('"', _) => {
                in_str = true;
                out.push('"');
            }
            // A char literal such as '"' or '{'.
            ('\'', _) => {
                out.push('\'');
                let mut look = chars.clone();
                let a = look.next();
                let b = look.next();
                let c2 = look.next();
                match (a, b, c2) {
                    (Some('\\'), Some(_), Some('\'')) => {
                        chars.next();
                        chars.next();
                        chars.next();
                    }
                    (Some(_), Some('\''), _) => {
                        chars.next();
                        chars.next();
                    }
                    _ => {}
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first segment of every path a `crate::…` (or `super::…` that
/// reaches the crate root) names, resolved to a top-level module.
fn imported_modules(module: &[String], code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        let rest = &code[i..];
        // `super::super::x` from a file `depth` modules deep.
        let (base, after) = if starts_word && rest.starts_with("crate::") {
            (Vec::new(), i + "crate::".len())
        } else if starts_word && rest.starts_with("super::") {
            let mut j = i;
            let mut up = 0;
            while code[j..].starts_with("super::") {
                up += 1;
                j += "super::".len();
            }
            if up > module.len() {
                i = j;
                continue;
            }
            (module[..module.len() - up].to_vec(), j)
        } else {
            i += 1;
            continue;
        };
        for first in first_segments(&code[after..]) {
            let path: Vec<String> = base.iter().cloned().chain([first]).collect();
            found.insert(path[0].clone());
        }
        i = after;
    }
    found
}

/// The first segment after `crate::`: one name, or each item of a `{…}` group.
fn first_segments(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut current = String::new();
        for c in group.chars() {
            match c {
                '{' => {
                    depth += 1;
                    current.push(c);
                }
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    current.push(c);
                }
                ',' if depth == 0 => items.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        items.push(current);
        items
            .iter()
            .map(|i| ident(i.trim()))
            .filter(|i| !i.is_empty() && i != "self")
            .collect()
    } else {
        let name = ident(rest);
        if name.is_empty() {
            Vec::new()
        } else {
            vec![name]
        }
    }
}

/// Every edge between top-level modules, with a file that makes it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for file in rust_files(&Path::new(ROOT).join("src")) {
        let module = module_of(&file);
        let Some(top) = module.first().cloned() else {
            continue; // lib.rs and main.rs assemble everything
        };
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for target in imported_modules(&module, &code) {
            if target != top {
                graph
                    .entry(top.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// A cycle through `start`, if any (depth-first search).
fn cycle_from(
    graph: &BTreeMap<String, BTreeMap<String, PathBuf>>,
    start: &str,
) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeMap<String, PathBuf>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).map(|m| m.keys()).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_import_each_other_one_way_only() {
    let graph = module_graph();
    assert!(graph.len() > 10, "the graph was read: {graph:?}");
    let mut cycles = Vec::new();
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            let hops: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    format!(
                        "{} -> {} ({})",
                        w[0],
                        w[1],
                        graph[&w[0]][&w[1]].strip_prefix(ROOT).unwrap().display()
                    )
                })
                .collect();
            cycles.push(hops.join(", "));
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import one that imports them:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_import_reader_sees_every_form_of_path() {
    let module = vec!["sla".to_owned(), "clock".to_owned()];
    let code = code_only(
        r#"
        use crate::{config::SlaSettings, entities::{incident, sla_policy}};
        use super::super::cache;
        fn f() { let _ = crate::scope::Scope::All; let s = "crate::graphql"; }
        // crate::http in a comment
        /* crate::mcp in a block */
        use super::Target;
        "#,
    );
    let found = imported_modules(&module, &code);
    assert_eq!(
        found,
        ["cache", "config", "entities", "scope", "sla"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut long = Vec::new();
    for dir in ["src", "migration/src"] {
        for file in rust_files(&Path::new(ROOT).join(dir)) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 800 {
                long.push(format!(
                    "{}: {lines} lines",
                    file.strip_prefix(ROOT).unwrap().display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over 800 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn unsafe_only_sets_up_the_global_allocator() {
    let mut found = Vec::new();
    for file in rust_files(&Path::new(ROOT).join("src")) {
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        if code.contains("unsafe ") || code.contains("unsafe{") {
            found.push(file.strip_prefix(ROOT).unwrap().display().to_string());
        }
    }
    assert_eq!(
        found,
        ["src/main.rs"],
        "unsafe code outside the allocator set-up"
    );
}

/// The markdown files of the repository root and `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [Path::new(ROOT).to_path_buf(), Path::new(ROOT).join("docs")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor_of(l.trim_start_matches('#')))
        .collect()
}

/// The targets of the inline links `[text](target)` of a markdown text.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_owned());
        }
    }
    out
}

#[test]
fn the_readme_stays_a_guide_of_at_most_600_lines() {
    let lines = std::fs::read_to_string(Path::new(ROOT).join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= 600,
        "README.md has {lines} lines: move reference tables into docs/"
    );
}

#[test]
fn document_links_reach_files_and_headings_that_exist() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let path = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            if !path.exists() {
                broken.push(format!("{}: {target} (no such file)", doc.display()));
            } else if !anchor.is_empty()
                && path.extension().is_some_and(|e| e == "md")
                && !anchors(&std::fs::read_to_string(&path).unwrap()).contains(anchor)
            {
                broken.push(format!("{}: {target} (no such heading)", doc.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_reader_finds_targets_and_anchors() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x-y) and [b](https://e.example) or [c](#top)"),
        ["docs/a.md#x-y", "https://e.example", "#top"]
    );
    assert_eq!(
        anchor_of(" Custom fields and flags"),
        "custom-fields-and-flags"
    );
    assert_eq!(anchor_of("SLA compliance"), "sla-compliance");
    assert!(anchors("# A\n## B c\ntext").contains("b-c"));
}
