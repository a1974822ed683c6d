//! The import layers of `docs/ARCHITECTURE.md`, checked: a module names only modules of the
//! layers below its own (the foundation and the composition layer may also use their own), no
//! modules beneath the composition layer import each other in a cycle, and every module is in a
//! layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Layer of each module, read from the table under "## Import layers".
fn layers() -> BTreeMap<String, (usize, bool)> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("## Import layers")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has an \"Import layers\" section");
    let mut out = BTreeMap::new();
    for row in section
        .lines()
        .skip_while(|l| !l.starts_with("| layer"))
        .skip(2)
    {
        let Some(row) = row.strip_prefix('|') else {
            break;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let level: usize = cells[0].split_whitespace().next().unwrap().parse().unwrap();
        // The foundation and the composition layer may use their own modules.
        let open = cells[0].contains("foundation") || cells[0].contains("composition");
        for module in cells[1].split(',') {
            out.insert(module.trim().trim_matches('`').to_owned(), (level, open));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::x` or `crate::{x, y::z}`, outside its tests.
fn named_modules(text: &str) -> BTreeSet<String> {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            out.insert(ident(item.trim()));
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// Module name -> the modules it names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_owned();
        if ["lib", "main", "layers"].contains(&module.as_str()) {
            continue;
        }
        let named = named_modules(&std::fs::read_to_string(&file).unwrap());
        let entry = out.entry(module.clone()).or_default();
        entry.extend(named.into_iter().filter(|m| *m != module));
    }
    out
}

#[test]
fn every_module_is_in_a_layer_and_imports_only_below_it() {
    let layers = layers();
    let mut wrong = Vec::new();
    for (module, named) in imports() {
        let Some(&(level, open)) = layers.get(&module) else {
            wrong.push(format!("`{module}` is in no layer of docs/ARCHITECTURE.md"));
            continue;
        };
        for other in named {
            let Some(&(other_level, _)) = layers.get(&other) else {
                wrong.push(format!("`{module}` names `{other}`, which is in no layer"));
                continue;
            };
            if other_level > level || (other_level == level && !open) {
                wrong.push(format!(
                    "`{module}` (layer {level}) imports `{other}` (layer {other_level})"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    // The composition layer wires everything together (`app` builds the `router`, which takes
    // the `app`'s state); every layer beneath it must be free of cycles.
    let layers = layers();
    let top = layers.values().map(|(level, _)| *level).max().unwrap();
    let beneath = |m: &String| layers.get(m).is_some_and(|(level, _)| *level < top);
    let graph: BTreeMap<String, BTreeSet<String>> = imports()
        .into_iter()
        .filter(|(m, _)| beneath(m))
        .map(|(m, named)| (m, named.into_iter().filter(beneath).collect()))
        .collect();
    // Depth-first search; a grey node met again closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, bool>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => {
                let start = path.iter().position(|n| *n == node).unwrap();
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            Some(false) => return None,
            None => {}
        }
        state.insert(node, true);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node, false);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn grouped_and_nested_imports_are_read() {
    let named = named_modules(
        "use crate::{accounts, catalogue::{self, Product}, http::ApiError};\nlet x = crate::orders::f();\n#[cfg(test)]\nuse crate::kakao;",
    );
    let names: Vec<&str> = named.iter().map(String::as_str).collect();
    assert_eq!(names, ["accounts", "catalogue", "http", "orders"]);
}
