//! The rules each layer keeps (docs/architecture.md, "Where does X live"), checked on the
//! source: the domain never imports the HTTP layer, the composition root, axum or serenity;
//! `config.rs` imports nothing of the app; and no import cycle crosses folders.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Every module of the crate (`channels::provision`), with its source.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
                    .expect("under src")
                    .with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                let source = std::fs::read_to_string(&path).expect("source is UTF-8");
                out.insert(parts.join("::"), source);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut out,
    );
    out
}

/// The source without comments and without its unit tests (which may use anything).
fn code(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The full paths a `use crate::…;` tree names: `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn expand(prefix: &str, tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        // `path as name`: the path is the first word.
        let path = tree.split_whitespace().next().unwrap_or_default();
        return vec![format!("{prefix}{path}")];
    };
    let head = format!("{prefix}{}", tree[..open].trim());
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.extend(expand(&head, &inner[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        out.extend(expand(&head, &inner[start..]));
    }
    out
}

/// Which modules each module imports (through `use crate::…` or a `crate::…` path).
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains_key(m))
    };
    let mut graph = BTreeMap::new();
    for (name, source) in modules {
        let code = code(source);
        let mut paths = Vec::new();
        for statement in code.split("use crate::").skip(1) {
            let tree = statement.split(';').next().unwrap_or_default();
            paths.extend(expand("", tree));
        }
        for occurrence in code.split("crate::").skip(1) {
            let path: String = occurrence
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path);
        }
        let targets = paths
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|t| t != name)
            .collect();
        graph.insert(name.clone(), targets);
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Search<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !search.index.contains_key(v.as_str()) {
            search.visit(v);
        }
    }
    search.found
}

/// The top-level part a module belongs to: its folder (`channels` for `channels::provision`
/// and for `channels` itself), or the file for a module without one (`config`).
fn part(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// The parts that are the HTTP surface, the simulators, the composition root or binaries:
/// everything else is the domain and what it stands on.
const OUTER: &[&str] = &["http", "sandbox", "server", "main", "bench", "lib"];

#[test]
fn the_domain_never_imports_the_http_layer_the_composition_root_axum_or_serenity() {
    let mut broken = Vec::new();
    for (name, source) in modules() {
        let part = part(&name);
        if OUTER.contains(&part) {
            continue;
        }
        let code = code(&source);
        for (needle, allowed_in) in [
            ("crate::http", None),
            ("crate::server", None),
            ("AppState", None),
            ("axum", None),
            ("serenity", Some("discord")),
        ] {
            if code.contains(needle) && allowed_in != Some(part) {
                broken.push(format!("{name} uses {needle}"));
            }
        }
    }
    assert!(broken.is_empty(), "layer rules broken: {broken:#?}");
}

#[test]
fn config_imports_nothing_of_the_app() {
    let modules = modules();
    let graph = imports(&modules);
    assert_eq!(
        graph.get("config"),
        Some(&BTreeSet::new()),
        "config.rs must stand alone"
    );
}

#[test]
fn no_import_cycle_crosses_parts() {
    let modules = modules();
    let graph = imports(&modules);
    assert!(
        graph
            .get("channels")
            .is_some_and(|t| t.contains("services")),
        "the import scan sees `use crate::…` trees (channels uses services)"
    );
    let crossing: Vec<Vec<String>> = cycles(&graph)
        .into_iter()
        .filter(|c| c.iter().any(|m| part(m) != part(&c[0])))
        .collect();
    assert!(
        crossing.is_empty(),
        "import cycles across parts: {crossing:#?}"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        expand("", "x::{y, z::{w as v}}"),
        vec!["x::y".to_owned(), "x::z::w".to_owned()]
    );
}
