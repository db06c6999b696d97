//! Builds the web app and writes `$OUT_DIR/assets.rs`, the list of its files that lib.rs embeds.
//!
//! - `SWITCHBOARD_FRONTEND_DIST` set: that directory, already built (the Dockerfile's node stage),
//!   is embedded as it is.
//! - Otherwise `npm ci` runs when `node_modules` is missing or older than `package-lock.json`,
//!   then `npm run build:app` builds into `$OUT_DIR` (the source tree's `dist/` is left alone).
//! - Without npm, or when a step fails, the Rust build still succeeds, but not silently: cargo
//!   prints why and how to fix it, and a page saying the app was not built is embedded instead
//!   (the service warns at start-up while it serves that page).
mod content_type;

use std::{
    env,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The oldest Node.js that Vite 7 runs on.
const MIN_NODE: (u32, u32) = (20, 19);
/// What the build reads (relative to this folder, where cargo runs build scripts). Not
/// `node_modules` or `dist`: npm and the frontend's own scripts write there.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];
/// How much of a failed command's output the warning shows.
const TAIL_LINES: usize = 20;

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_FRONTEND_DIST");
    let (root, built) = match env::var_os("SWITCHBOARD_FRONTEND_DIST") {
        Some(dist) => (prebuilt(Path::new(&dist)), true),
        None => {
            for source in SOURCES {
                // A path that does not exist would make cargo run this script on every build.
                if Path::new(source).exists() {
                    println!("cargo:rerun-if-changed={source}");
                }
            }
            let dist = out_dir.join("dist");
            match build(&dist) {
                Ok(()) => (dist, true),
                Err(failure) => {
                    failure.warn();
                    (fallback(&out_dir, &failure), false)
                }
            }
        }
    };
    fs::write(out_dir.join("assets.rs"), assets_rs(&root, built)).expect("write assets.rs");
}

/// Why the app could not be built.
struct Failure {
    reason: String,
    /// The end of the failed command's output.
    output: Vec<String>,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            output: Vec::new(),
        }
    }

    fn warn(&self) {
        println!("cargo:warning=the web app was not built: {}", self.reason);
        for line in &self.output {
            println!("cargo:warning=  {line}");
        }
        println!(
            "cargo:warning=to build it: Node.js {}.{} or later with npm (Debian: apt-get install \
             nodejs npm); fix what failed, then `touch frontend/package.json` and build again. \
             Until then the service serves a page saying so at /",
            MIN_NODE.0, MIN_NODE.1
        );
    }
}

fn prebuilt(dist: &Path) -> PathBuf {
    println!("cargo:rerun-if-changed={}", dist.display());
    let dist = fs::canonicalize(dist)
        .unwrap_or_else(|err| panic!("SWITCHBOARD_FRONTEND_DIST={}: {err}", dist.display()));
    assert!(
        dist.join("index.html").is_file(),
        "SWITCHBOARD_FRONTEND_DIST={} has no index.html: build the app into it first \
         (`npm run build:app -- --outDir …` in frontend/)",
        dist.display()
    );
    dist
}

fn build(dist: &Path) -> Result<(), Failure> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        return Err(Failure::new("npm was not found on PATH"));
    }
    check_node()?;
    if !installed_is_current() {
        run(
            Command::new(npm).args(["ci", "--no-audit", "--no-fund"]),
            "`npm ci` failed",
        )?;
    }
    // Vite empties the directory too, but only when it exists; start from nothing either way.
    let _ = fs::remove_dir_all(dist);
    run(
        Command::new(npm)
            .args(["run", "build:app", "--", "--outDir"])
            .arg(dist),
        "`npm run build:app` failed",
    )?;
    if !dist.join("index.html").is_file() {
        return Err(Failure::new("`npm run build:app` wrote no index.html"));
    }
    Ok(())
}

fn check_node() -> Result<(), Failure> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|_| Failure::new("node was not found on PATH"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_NODE {
        return Err(Failure::new(format!(
            "Node.js {version} is too old (Vite needs {}.{} or later)",
            MIN_NODE.0, MIN_NODE.1
        )));
    }
    Ok(())
}

/// Whether `node_modules` was installed from the current `package-lock.json`.
fn installed_is_current() -> bool {
    let modified = |path: &str| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (
        modified("node_modules/.package-lock.json"),
        modified("package-lock.json"),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), Failure> {
    let output = command
        .output()
        .map_err(|err| Failure::new(format!("{what}: {err}")))?;
    if output.status.success() {
        return Ok(());
    }
    // npm and Vite report errors on standard error; some failures only on standard output.
    let text = if output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&output.stderr)
    } else {
        String::from_utf8_lossy(&output.stdout)
    };
    let lines: Vec<String> = text
        .lines()
        // Node's stack frames (`    at …`) say nothing about what to fix.
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with("at "))
        .map(str::to_owned)
        .collect();
    Err(Failure {
        reason: format!("{what} ({})", output.status),
        output: lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec(),
    })
}

/// A one-page "app" that says it was not built, and how to build it.
fn fallback(out_dir: &Path, failure: &Failure) -> PathBuf {
    let dir = out_dir.join("not-built");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the fallback page's directory");
    let reason = failure
        .reason
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard · the web app was not built</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 2rem; background: #f6f7f9; color: #1d2330; }}
main {{ max-width: 40rem; margin: auto; padding: 2rem; background: #fff; border-radius: 12px; }}
code {{ background: #eef0f3; padding: 0 .25rem; border-radius: 4px; }}
</style>
</head>
<body>
<main>
<h1>The web app was not built</h1>
<p>This Switchboard binary was built without its web app: {reason}.
The API works as usual; its documentation is at <a href="/docs/">/docs</a>.</p>
<h2>To build it</h2>
<ol>
<li>Install Node.js {major}.{minor} or later, with npm.</li>
<li>In the repository, run <code>touch frontend/package.json</code>, then <code>cargo build</code>
(or <code>cargo run</code>): it runs <code>npm ci</code> and <code>npm run build:app</code> in
<code>frontend/</code> and embeds the result. Its warnings say what failed.</li>
</ol>
<p>Or serve an app built elsewhere: set <code>FRONTEND_DIR</code> to the directory holding its
<code>index.html</code>.</p>
</main>
</body>
</html>
"#,
        major = MIN_NODE.0,
        minor = MIN_NODE.1,
    );
    fs::write(dir.join("index.html"), page).expect("write the fallback page");
    dir
}

/// `BUILT`, and `ASSETS`: every file under `root`, sorted by path, embedded with `include_bytes!`.
fn assets_rs(root: &Path, built: bool) -> String {
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let mut out = format!(
        "// Generated by build.rs from {:?}.\nconst BUILT: bool = {built};\nstatic ASSETS: &[Asset] = &[\n",
        root.display().to_string()
    );
    for (path, absolute) in &files {
        let _ = writeln!(
            out,
            "    Asset {{ path: {path:?}, bytes: include_bytes!({absolute:?}), content_type: {:?} }},",
            content_type::content_type(path)
        );
    }
    out.push_str("];\n");
    out
}

/// (path relative to `root` with `/` separators, absolute path) of every file under `dir`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.is_file() {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .components()
                .map(|c| c.as_os_str().to_str().expect("a UTF-8 file name"))
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.to_str().expect("a UTF-8 path").to_owned();
            files.push((relative, absolute));
        }
    }
}
