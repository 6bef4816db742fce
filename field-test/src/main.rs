//! Field test of `#[isolated]` on real code: copies crates from the local
//! cargo registry, puts `#[::isolate::isolated]` on every `pub fn` (free
//! functions and functions of inherent `impl` blocks, the method-level
//! attribute alone), runs `cargo check` and classifies each function:
//!
//! - accepted: no error;
//! - crate-rejected: only errors in the crate's own words (`#[isolated] ...`,
//!   the `IsolateArg` / `IsolateReturn` / `FoldResult` / `Message` messages);
//! - leaked: at least one other rustc error.
//!
//! A first "marker" round (`#[::isolate::isolated(name = 0)]`, an option
//! error at every expanded site) finds which functions are compiled at all,
//! so that functions under an inactive `#[cfg]` are not counted. Then rounds
//! of `cargo check` run until none fails, each one taking the attribute off
//! the functions that got an error (rustc stops at some phases, so one round
//! does not show every error). See README.md for how to run it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use syn::visit::Visit;

/// One `pub fn` to put the attribute on.
#[derive(Clone)]
struct Site {
    /// Relative to the crate's root.
    file: PathBuf,
    /// 1-based line and 0-based character column of the `pub` token.
    line: usize,
    column: usize,
    end_line: usize,
    name: String,
}

#[derive(Clone, PartialEq)]
enum Verdict {
    Accepted,
    CrateRejected(String),
    Leaked(String),
}

struct Harvest<'a> {
    file: &'a Path,
    sites: Vec<Site>,
    /// Inherent `impl` blocks holding a site: (line, column) of `impl`.
    impls: Vec<(usize, usize)>,
}

impl Harvest<'_> {
    fn push(&mut self, vis: &syn::Visibility, sig: &syn::Signature, block: &syn::Block) {
        let syn::Visibility::Public(token) = vis else {
            return;
        };
        let start = token.span.start();
        self.sites.push(Site {
            file: self.file.to_owned(),
            line: start.line,
            column: start.column,
            end_line: block.brace_token.span.close().end().line,
            name: sig.ident.to_string(),
        });
    }
}

impl<'ast> Visit<'ast> for Harvest<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        // Not into the body: a nested `pub fn` is not part of the API.
        self.push(&item.vis, &item.sig, &item.block);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if item.trait_.is_some() {
            return;
        }
        let before = self.sites.len();
        for impl_item in &item.items {
            if let syn::ImplItem::Fn(function) = impl_item {
                self.push(&function.vis, &function.sig, &function.block);
            }
        }
        if self.sites.len() > before {
            let start = item.impl_token.span.start();
            self.impls.push((start.line, start.column));
        }
    }

    fn visit_item_trait(&mut self, _: &'ast syn::ItemTrait) {}
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Whether rustc's message is one of the crate's own.
fn is_crate_error(message: &str) -> bool {
    message.starts_with("#[isolated]")
        || message.contains("an isolated function")
        || message.contains("borrows from the caller")
        || message.contains("is a borrow from the caller")
        || message.contains("so #[isolated] cannot fold")
        || message.contains("cannot be a message between isolates")
}

struct Crate {
    name: String,
    dir: PathBuf,
    originals: BTreeMap<PathBuf, String>,
    sites: Vec<Site>,
    /// Where `#[isolated]` goes on `impl` blocks, when asked for.
    impls: BTreeMap<PathBuf, Vec<(usize, usize)>>,
    impl_attribute: bool,
}

impl Crate {
    /// Writes every file with `attribute` inserted before the `pub` of the
    /// active sites, on the same line so that line numbers stay.
    fn write(&self, active: &BTreeSet<usize>, attribute: &str) -> std::io::Result<()> {
        let mut by_file: BTreeMap<&Path, Vec<(usize, usize, &str)>> = BTreeMap::new();
        for (index, site) in self.sites.iter().enumerate() {
            if active.contains(&index) {
                by_file
                    .entry(&site.file)
                    .or_default()
                    .push((site.line, site.column, attribute));
            }
        }
        if self.impl_attribute && !active.is_empty() {
            for (file, impls) in &self.impls {
                for &(line, column) in impls {
                    by_file.entry(file).or_default().push((
                        line,
                        column,
                        "#[::isolate::isolated] ",
                    ));
                }
            }
        }
        for (file, text) in &self.originals {
            let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
            if let Some(insertions) = by_file.get_mut(file.as_path()) {
                // From the end, so that earlier columns stay right.
                insertions.sort();
                for &(line, column, text) in insertions.iter().rev() {
                    if let Some(line) = lines.get_mut(line - 1) {
                        let at: usize = line
                            .char_indices()
                            .nth(column)
                            .map_or(line.len(), |(i, _)| i);
                        line.insert_str(at, text);
                    }
                }
            }
            fs::write(self.dir.join(file), lines.join("\n"))?;
        }
        Ok(())
    }

    fn site_at(&self, file: &str, line: usize) -> Option<usize> {
        let file = Path::new(file);
        self.sites
            .iter()
            .position(|s| file.ends_with(&s.file) && (s.line..=s.end_line).contains(&line))
    }

    /// `cargo check`; every error as (site, crate's own?, text).
    fn check(&self, target: &Path) -> (Vec<(Option<usize>, bool, String)>, bool) {
        let output = Command::new("cargo")
            .args(["check", "--lib", "--offline", "--message-format=json", "-q"])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", target)
            .env("RUSTFLAGS", "--cap-lints=warn")
            .output();
        let Ok(output) = output else {
            return (Vec::new(), false);
        };
        let mut errors = Vec::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if json["reason"] != "compiler-message" {
                continue;
            }
            let message = &json["message"];
            if message["level"] != "error" {
                continue;
            }
            let text = message["message"].as_str().unwrap_or_default().to_owned();
            if text.starts_with("aborting due to") {
                continue;
            }
            let code = message["code"]["code"].as_str().unwrap_or("-");
            let mut site = None;
            let mut stack: Vec<&serde_json::Value> = Vec::new();
            if let Some(spans) = message["spans"].as_array() {
                let (primary, other): (Vec<_>, Vec<_>) =
                    spans.iter().partition(|s| s["is_primary"] == true);
                stack.extend(other.into_iter().rev());
                stack.extend(primary.into_iter().rev());
            }
            while let Some(span) = stack.pop() {
                let file = span["file_name"].as_str().unwrap_or_default();
                let line = span["line_start"].as_u64().unwrap_or(0) as usize;
                if let Some(found) = self.site_at(file, line) {
                    site = Some(found);
                    break;
                }
                if !span["expansion"]["span"].is_null() {
                    stack.insert(0, &span["expansion"]["span"]);
                }
            }
            let shown = match site {
                Some(i) => format!(
                    "{}:{} {}: [{code}] {text}",
                    self.sites[i].file.display(),
                    self.sites[i].line,
                    self.sites[i].name
                ),
                None => format!("(unattributed) [{code}] {text}"),
            };
            errors.push((site, is_crate_error(&text), shown));
        }
        (errors, output.status.success())
    }
}

/// The manifest without what need not be in the registry's cache: dev-
/// dependencies (`--lib` does not build them), test, bench and example
/// targets, optional dependencies that the cache lacks, and the features'
/// mentions of those.
fn strip_manifest(manifest: &str, available: &dyn Fn(&str) -> bool) -> String {
    // Sections: (header, lines).
    let mut sections: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    for line in manifest.lines() {
        if line.trim_start().starts_with('[') {
            sections.push((line.trim().to_owned(), Vec::new()));
        } else if let Some(last) = sections.last_mut() {
            last.1.push(line.to_owned());
        }
    }
    let mut optional: BTreeSet<String> = BTreeSet::new();
    let dependency_name = |header: &str| -> Option<String> {
        let inner = header.trim_matches(|c| c == '[' || c == ']');
        let rest = inner.rsplit_once("dependencies.")?.1;
        Some(rest.trim_matches('"').to_owned())
    };
    // Names only dev-dependencies give: features may mention them too.
    let mut dev_only: BTreeSet<String> = BTreeSet::new();
    let mut normal: BTreeSet<String> = BTreeSet::new();
    for (header, lines) in &sections {
        if header.contains("dependencies") {
            let names: Vec<String> = match dependency_name(header) {
                Some(name) => vec![name],
                None => lines
                    .iter()
                    .filter_map(|line| line.split_once('='))
                    .map(|(name, _)| name.trim().trim_matches('"').to_owned())
                    .filter(|name| !name.is_empty() && !name.starts_with('#'))
                    .collect(),
            };
            if header.contains("dev-dependencies") {
                dev_only.extend(names);
            } else {
                normal.extend(names);
            }
        }
    }
    optional.extend(dev_only.difference(&normal).cloned());
    for (header, lines) in &mut sections {
        if header.contains("dependencies") && !header.contains("dev-dependencies") {
            if let Some(name) = dependency_name(header) {
                if lines.iter().any(|l| l.replace(' ', "") == "optional=true") && !available(&name)
                {
                    optional.insert(name);
                }
            } else {
                lines.retain(|line| {
                    let compact = line.replace(' ', "");
                    let name = compact
                        .split_once('=')
                        .map(|(name, _)| name.trim_matches('"'));
                    match name {
                        Some(name) if compact.contains("optional=true") && !available(name) => {
                            optional.insert(name.to_owned());
                            false
                        }
                        _ => true,
                    }
                });
            }
        }
    }
    let mentions_optional = |entry: &str| {
        let entry = entry.trim_start_matches("dep:");
        let name = entry.split(['/', '?']).next().unwrap_or(entry);
        optional.contains(name)
    };
    let mut out = String::new();
    for (header, lines) in sections {
        let dropped = header.contains("dev-dependencies")
            || header.starts_with("[[bench")
            || header.starts_with("[[test")
            || header.starts_with("[[example")
            || dependency_name(&header).is_some_and(|name| optional.contains(&name));
        if dropped {
            continue;
        }
        if !header.is_empty() {
            out.push_str(&header);
            out.push('\n');
        }
        for line in lines {
            let line = if header == "[features]" {
                // Drop each quoted entry that names an optional dependency.
                let mut kept = String::new();
                let mut rest = line.as_str();
                while let Some(start) = rest.find('"') {
                    let Some(len) = rest[start + 1..].find('"') else {
                        break;
                    };
                    let entry = &rest[start + 1..start + 1 + len];
                    let after = &rest[start + len + 2..];
                    let is_key = after.trim_start().starts_with('=');
                    kept.push_str(&rest[..start]);
                    if is_key || !mentions_optional(entry) {
                        kept.push_str(&rest[start..start + len + 2]);
                        rest = after;
                    } else {
                        rest = after.trim_start().strip_prefix(',').unwrap_or(after);
                    }
                }
                kept.push_str(rest);
                kept
            } else {
                line
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn prepare(source: &Path, work: &Path, isolate: &Path) -> Result<Crate, String> {
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = work.join(&name);
    let _ = fs::remove_dir_all(&dir);
    copy_dir(source, &dir).map_err(|e| format!("copy: {e}"))?;
    let manifest_path = dir.join("Cargo.toml");
    let mut manifest = fs::read_to_string(&manifest_path).map_err(|e| format!("manifest: {e}"))?;
    if !manifest.contains("edition = \"20") || manifest.contains("edition = \"2015\"") {
        return Err("edition 2015: `::isolate` paths need 2018 or later".into());
    }
    let registry = source.parent().unwrap_or(source);
    let available = |name: &str| {
        let prefix = format!("{name}-");
        fs::read_dir(registry).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                file_name
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
    };
    manifest = strip_manifest(&manifest, &available);
    let _ = fs::remove_file(dir.join("Cargo.lock"));
    if !manifest.contains("\n[workspace]") {
        manifest.push_str("\n[workspace]\n");
    }
    let _ = writeln!(
        manifest,
        "\n[dependencies.isolate]\npackage = \"isolates\"\npath = {:?}\n",
        isolate.display().to_string()
    );
    fs::write(&manifest_path, manifest).map_err(|e| format!("manifest: {e}"))?;
    let mut files = Vec::new();
    rust_files(&dir.join("src"), &mut files);
    let mut originals = BTreeMap::new();
    let mut sites = Vec::new();
    let mut impls = BTreeMap::new();
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let relative = path.strip_prefix(&dir).unwrap_or(&path).to_owned();
        if let Ok(file) = syn::parse_file(&text) {
            let mut harvest = Harvest {
                file: &relative,
                sites: Vec::new(),
                impls: Vec::new(),
            };
            harvest.visit_file(&file);
            sites.extend(harvest.sites);
            impls.insert(relative.clone(), harvest.impls);
        }
        originals.insert(relative, text);
    }
    Ok(Crate {
        name,
        dir,
        originals,
        sites,
        impls,
        impl_attribute: std::env::var_os("FIELD_TEST_IMPL_ATTRIBUTE").is_some(),
    })
}

#[derive(Default)]
struct Counts {
    /// The rustc codes of the leaked errors, one per leaked function (its
    /// first error that is not the crate's).
    leak_codes: BTreeMap<String, usize>,
    sites: usize,
    compiled: usize,
    accepted: usize,
    crate_rejected: usize,
    leaked: usize,
    unknown: usize,
}

fn run(krate: &Crate, target: &Path, log: &mut String) -> Counts {
    let mut counts = Counts {
        sites: krate.sites.len(),
        ..Counts::default()
    };
    let all: BTreeSet<usize> = (0..krate.sites.len()).collect();
    // Round 0: which sites are compiled at all.
    if krate.write(&BTreeSet::new(), "").is_err() || !krate.check(target).1 {
        let _ = writeln!(log, "{}: does not build as it is; skipped", krate.name);
        return Counts::default();
    }
    if krate
        .write(&all, "#[::isolate::isolated(name = 0)] ")
        .is_err()
    {
        return Counts::default();
    }
    let mut active: BTreeSet<usize> = krate
        .check(target)
        .0
        .into_iter()
        .filter_map(|(site, _, _)| site)
        .collect();
    counts.compiled = active.len();
    let mut verdicts: BTreeMap<usize, Verdict> = BTreeMap::new();
    for round in 1..=10 {
        if krate.write(&active, "#[::isolate::isolated] ").is_err() {
            break;
        }
        let (errors, success) = krate.check(target);
        let mut hit: BTreeMap<usize, (bool, Vec<String>)> = BTreeMap::new();
        let mut unattributed = 0;
        for (site, own, shown) in errors {
            match site {
                Some(site) if active.contains(&site) => {
                    let entry = hit.entry(site).or_insert((true, Vec::new()));
                    entry.0 &= own;
                    entry.1.push(shown);
                }
                _ => {
                    unattributed += 1;
                    let _ = writeln!(log, "{}: round {round}: {shown}", krate.name);
                }
            }
        }
        if success || hit.is_empty() {
            if !success {
                let _ = writeln!(
                    log,
                    "{}: round {round}: {unattributed} errors not attributed to a function; {} functions left unclassified",
                    krate.name,
                    active.len()
                );
                counts.unknown = active.len();
                active.clear();
            }
            break;
        }
        for (site, (own, shown)) in hit {
            active.remove(&site);
            let verdict = if own {
                Verdict::CrateRejected(shown.join(" | "))
            } else {
                Verdict::Leaked(shown.join(" | "))
            };
            match &verdict {
                Verdict::Leaked(text) => {
                    let _ = writeln!(log, "{}: LEAK {text}", krate.name);
                }
                Verdict::CrateRejected(text) => {
                    let _ = writeln!(log, "{}: refused {text}", krate.name);
                }
                Verdict::Accepted => {}
            }
            verdicts.insert(site, verdict);
        }
    }
    for site in active {
        verdicts.insert(site, Verdict::Accepted);
    }
    for verdict in verdicts.values() {
        match verdict {
            Verdict::Accepted => counts.accepted += 1,
            Verdict::CrateRejected(_) => counts.crate_rejected += 1,
            Verdict::Leaked(text) => {
                counts.leaked += 1;
                let code = text
                    .split(" | ")
                    .find(|error| !is_crate_error(error.split("] ").nth(1).unwrap_or_default()))
                    .and_then(|error| error.split('[').nth(1))
                    .and_then(|rest| rest.split(']').next())
                    .unwrap_or("-")
                    .to_owned();
                *counts.leak_codes.entry(code).or_default() += 1;
            }
        }
    }
    // Leave the copy as it was.
    let _ = krate.write(&BTreeSet::new(), "");
    counts
}

fn main() {
    let args = std::env::args().skip(1);
    let registry = std::env::var_os("FIELD_TEST_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
                });
            let src = home.join("registry/src");
            // crates.io's index directory; others (a `cargo publish
            // --dry-run` makes some) hold only local packages.
            let mut dirs: Vec<PathBuf> = fs::read_dir(&src)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            dirs.sort_by_key(|dir| {
                !dir.file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("index.crates.io-"))
            });
            dirs.into_iter().next().unwrap_or(src)
        });
    let crates: Vec<String> = args.collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default();
    let isolate = root.join("isolate");
    let work = root.join("target/field-test/crates");
    let target = root.join("target/field-test/target");
    let mut log = String::new();
    let mut total = Counts::default();
    println!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>6} {:>7}",
        "crate", "pub fn", "compiled", "accepted", "refused", "leaked", "unknown"
    );
    for name in &crates {
        let source = registry.join(name);
        let krate = match prepare(&source, &work, &isolate) {
            Ok(krate) => krate,
            Err(why) => {
                println!("{name:<28} skipped: {why}");
                continue;
            }
        };
        let counts = run(&krate, &target, &mut log);
        println!(
            "{:<28} {:>6} {:>8} {:>8} {:>8} {:>6} {:>7}",
            name,
            counts.sites,
            counts.compiled,
            counts.accepted,
            counts.crate_rejected,
            counts.leaked,
            counts.unknown
        );
        total.sites += counts.sites;
        total.compiled += counts.compiled;
        total.accepted += counts.accepted;
        total.crate_rejected += counts.crate_rejected;
        total.leaked += counts.leaked;
        total.unknown += counts.unknown;
        for (code, n) in counts.leak_codes {
            *total.leak_codes.entry(code).or_default() += n;
        }
        let _ = fs::write(root.join("target/field-test/log.txt"), &log);
    }
    let rejected = total.crate_rejected + total.leaked;
    println!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>6} {:>7}",
        "TOTAL",
        total.sites,
        total.compiled,
        total.accepted,
        total.crate_rejected,
        total.leaked,
        total.unknown
    );
    if rejected > 0 {
        println!(
            "leaked rejections: {} of {} ({:.2} %); details in target/field-test/log.txt",
            total.leaked,
            rejected,
            100.0 * total.leaked as f64 / rejected as f64
        );
        let codes: Vec<String> = total
            .leak_codes
            .iter()
            .map(|(code, n)| format!("{code} x{n}"))
            .collect();
        if !codes.is_empty() {
            println!("leaks by rustc code: {}", codes.join(", "));
        }
    }
}
