//! The shape of the code, checked: no import circle between the files of `perf-server` or
//! `perf-core`, and the server's layers import only downwards (`http → control → effects →
//! durable`). An import is a `use` or an inline `crate::…`/`super::…` path outside the test
//! module, resolved to the file that defines the item (following `pub use` re-exports), so
//! a `mod.rs` that only declares and re-exports its children adds no edge of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file's text, without its test module and comments.
struct Module {
    text: String,
}

/// Every file of a crate, by module path (`control::slos`; the root is ``).
fn modules(src: &Path) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel: PathBuf = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let name = parts.join("::");
            if parts.last().is_some_and(|p| p == "tests") {
                continue; // a tests file is test code
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            let text = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, Module { text });
        }
    }
    out
}

/// The items a file defines at any depth (struct, enum, fn, trait, type, const, static).
fn defines(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let mut words = l
            .trim_start()
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .skip_while(|w| matches!(*w, "pub" | "crate" | "super" | "async" | "unsafe"));
        matches!(
            words.next(),
            Some("struct" | "enum" | "fn" | "trait" | "type" | "const" | "static")
        ) && words.next() == Some(name)
    })
}

/// Expands one `use` tree (`a::{b, c::{d, e as f}}`) into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.to_string()
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// Every `use` tree of a file, expanded, whatever its root (a `use` item starts a line).
fn use_trees(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let Some(tree) = t.strip_prefix("use ") else {
            continue;
        };
        let mut tree = tree.to_string();
        while !tree.contains(';') {
            match lines.next() {
                Some(l) => tree.push_str(l),
                None => break,
            }
        }
        let tree = tree.split(';').next().unwrap_or("");
        let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
        out.extend(expand(&tree));
    }
    out
}

/// Every path a module names within its crate: `use` trees (a relative one when it starts
/// with a child module) and inline `crate::`/`super::` paths.
fn paths(mods: &BTreeMap<String, Module>, module: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tree in use_trees(text) {
        let first = tree.split("::").next().unwrap_or("");
        if matches!(first, "crate" | "super" | "self") {
            out.push(tree);
        } else {
            let child = if module.is_empty() {
                first.to_string()
            } else {
                format!("{module}::{first}")
            };
            if mods.contains_key(&child) {
                out.push(format!("self::{tree}"));
            }
        }
    }
    for start in ["crate::", "super::"] {
        let mut rest = text;
        while let Some(i) = rest.find(start) {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path = tail[..end].trim_end_matches(':');
            if path.len() > start.len() {
                out.push(path.to_string());
            }
            rest = &tail[start.len()..];
        }
    }
    out
}

/// The module a path names from inside module `from`, and the file that defines its item.
fn resolve(
    mods: &BTreeMap<String, Module>,
    from: &str,
    path: &str,
    depth: usize,
) -> Option<String> {
    let mut segs: Vec<String> = Vec::new();
    let mut parts = path.split("::").peekable();
    match parts.peek().copied() {
        Some("crate") => {
            parts.next();
        }
        Some("super") => {
            // Inside an inline module (`mod serde_label { … }`), `super::` names the file's
            // own items: an item the file defines, or a glob, is no edge.
            let item = path.rsplit("::").next().unwrap_or("");
            if item == "*"
                || (path.matches("super::").count() == 1 && defines(&mods[from].text, item))
            {
                return Some(from.to_string());
            }
            segs = from
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            while let Some(s) = parts.peek().copied() {
                match s {
                    "super" => {
                        segs.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                parts.next();
            }
        }
        Some("self") => {
            // A module's path is its file's (a `mod.rs` has its directory's), so `super` is
            // one segment up in both cases.
            segs = from
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            while let Some(s) = parts.peek().copied() {
                match s {
                    "super" => {
                        segs.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                parts.next();
            }
        }
        _ => return None,
    }
    let rest: Vec<&str> = parts.collect();
    // The longest prefix that is a module file.
    let mut module = segs.join("::");
    let mut used = 0;
    for (i, s) in rest.iter().enumerate() {
        let candidate = if module.is_empty() {
            s.to_string()
        } else {
            format!("{module}::{s}")
        };
        if mods.contains_key(&candidate) {
            module = candidate;
            used = i + 1;
        } else {
            break;
        }
    }
    if !mods.contains_key(&module) {
        return None;
    }
    let Some(item) = rest.get(used) else {
        return Some(module);
    };
    if defines(&mods[&module].text, item) || depth > 8 {
        return Some(module);
    }
    // A re-export: follow it to the defining file.
    for p in paths(mods, &module, &mods[&module].text) {
        if p.rsplit("::").next() == Some(item) && p != path {
            if let Some(m) = resolve(mods, &module, &p, depth + 1) {
                return Some(m);
            }
        }
    }
    Some(module)
}

/// Edges between files of a crate (module → modules it imports), without self-edges.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, m) in &mods {
        let entry = g.entry(name.clone()).or_default();
        for p in paths(&mods, name, &m.text) {
            if let Some(to) = resolve(&mods, name, &p, 0) {
                if &to != name {
                    entry.insert(to);
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one file (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_import_circle_in_perf_server_or_perf_core() {
    for name in ["perf-server", "perf-core"] {
        let g = graph(&crate_src(name));
        assert!(g.len() > 10, "{name}: the modules were not found");
        let found = circles(&g);
        assert!(found.is_empty(), "{name} has import circles: {found:#?}");
    }
}

#[test]
fn server_layers_import_only_downwards() {
    let g = graph(&crate_src("perf-server"));
    let layer = |m: &str| -> Option<u8> {
        let top = m.split("::").next().unwrap_or("");
        match top {
            "durable" => Some(0),
            "effects" => Some(1),
            "control" => Some(2),
            "http" => Some(3),
            _ => None,
        }
    };
    let mut upward = Vec::new();
    for (from, tos) in &g {
        let Some(lf) = layer(from) else { continue };
        for to in tos {
            if to == "app_state" || to == "runtime" || to.is_empty() {
                if lf < 3 {
                    upward.push(format!("{from} → {to}"));
                }
                continue;
            }
            if layer(to).is_some_and(|lt| lt > lf) {
                upward.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports against the layers: {upward:#?}");
    // The checker itself sees the edges it must see.
    assert!(
        g["http::slos"].contains("control::cycle")
            || g["http::slos"].contains("control::decisions")
    );
    assert!(g["control::slos"].iter().any(|m| m.starts_with("effects")));
}

#[test]
fn the_checker_finds_a_circle_and_expands_use_trees() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        expand("crate::x::{y, z::{self, w as v}}"),
        ["crate::x::y", "crate::x::z", "crate::x::z::w"]
    );
}
