//! `packpub init`: scaffolds a pack folder from a Helm chart (an archive or a chart folder) or
//! from Kubernetes manifests, in the layout Palette's docs and pack-central use
//! (../shared/palette.md Part 3): pack.json, values.yaml (`pack.namespace`,
//! `pack.content.images`, then the chart's own values under `charts.<chart name>` or one
//! `manifests.<stem>` per manifest), a README.md stub, and `charts/` or `manifests/`.
//!
//! The folder is written into a staging folder beside its target, validated by the same code
//! as `pack` ([`pack::load`], which also prints what is still missing, such as logo.png), and
//! renamed into place only then: what `init` leaves behind always packs, and an error or
//! Ctrl-C leaves nothing. Charts are read by [`crate::pack::chart`], as hostile input.

use crate::cli::InitArgs;
use crate::exit::{Code, Failure};
use crate::files::Unreadable;
use crate::output::{Output, escape};
use crate::pack::chart::{self, Chart, LinkEntries, Refusal};
use crate::pack::write::Recipe;
use crate::pack::yaml::{Node, Target};
use crate::pack::{
    self, ArchiveTo, BuildOptions, Identity, LocalInput, PackName, PackVersion, Severity,
};
use anyhow::Context;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The largest manifest read: the cap packpub puts on values.yaml, far above any manifest.
const MANIFEST_LIMIT: u64 = 16 << 20;
/// Manifests in one pack: far above any real one, and a bound on what a folder can make us read.
const MAX_MANIFESTS: usize = 10_000;
/// What pack-central's add-ons say (cloudcasa's pack.json); other layers carry no addonType.
const ADDON_TYPE: &str = "system app";

/// A pack folder's content before it is written: paths inside it and their bytes.
struct Scaffold {
    id: Identity,
    files: BTreeMap<String, Vec<u8>>,
    /// Lines for the person, after the headline.
    details: Vec<(&'static str, String)>,
}

pub fn run(args: &InitArgs, out: &Output) -> anyhow::Result<()> {
    let mtime = args
        .source_date_epoch
        .unwrap_or(crate::pack::write::DEFAULT_MTIME);
    let scaffold = match &args.chart {
        Some(path) => from_chart(path, args, mtime)?,
        None => from_manifests(args)?,
    };
    let (target, warnings) = place(&scaffold, args, mtime, out)?;
    let files: Vec<&String> = scaffold.files.keys().collect();
    let mut details = scaffold.details.clone();
    details.push((
        "next",
        format!(
            "add logo.png, review values.yaml and README.md, then `packpub pack {}`",
            target.display()
        ),
    ));
    out.result(&target.display().to_string());
    out.success(&format!("created {}", scaffold.id), &details);
    out.print_json(&json!({
        "path": target,
        "name": scaffold.id.name.to_string(),
        "version": scaffold.id.version.to_string(),
        "files": files,
        "warnings": warnings,
    }));
    Ok(())
}

fn usage(message: String) -> anyhow::Error {
    Failure::err(Code::Usage, message)
}

fn from_chart(path: &Path, args: &InitArgs, mtime: u64) -> anyhow::Result<Scaffold> {
    let meta = fs::metadata(path).map_err(|err| {
        usage(format!(
            "--chart {}: {err}",
            escape(&path.display().to_string())
        ))
    })?;
    let chart = if meta.is_dir() {
        chart::read_chart_dir(path, mtime)?
    } else {
        chart::read_chart(path, LinkEntries::Refuse).map_err(Refusal::into_failure)?
    };
    let name = match &args.name {
        Some(name) => name.clone(),
        None => PackName::parse(&chart.name).map_err(|why| {
            usage(format!(
                "the chart's name cannot name a pack: {why}, or pass --name"
            ))
        })?,
    };
    let version = match &args.version {
        Some(version) => version.clone(),
        None => PackVersion::parse(&chart.version).map_err(|why| {
            usage(format!(
                "the chart's version cannot version a pack: {why}, or pass --version"
            ))
        })?,
    };
    let namespace = namespace(args.namespace.as_deref(), &chart.name)?;
    let archive = format!(
        "charts/{}",
        chart
            .archive_name()
            .map_err(|why| Failure::err(Code::InvalidPack, why))?
    );
    let mut manifest = pack_json(&name, &version, &chart.name, &args.layer);
    manifest.insert("charts".into(), json!([archive]));
    let values = chart_values(&chart, &namespace)?;
    let app = chart
        .app_version
        .as_deref()
        .map_or(String::new(), |v| format!(" (app version {v})"));
    let readme = format!(
        "# {name}\n\n\
         A Palette pack for the Helm chart **{chart_name}** version {chart_version}{app}, \
         scaffolded by `packpub init`.\n\n\
         ## Parameters\n\n\
         `charts.{chart_name}` in values.yaml holds the chart's default values: change them \
         there. The pack deploys into the namespace `{namespace}` (`pack.namespace`).\n\n\
         Before publishing: add `logo.png`, check `pack.content.images` lists every image the \
         chart runs, and describe the pack here.\n",
        chart_name = chart.name,
        chart_version = chart.version,
    );
    let images = match chart.images.len() {
        0 => "none found in the chart's default values: list them in values.yaml".to_string(),
        n => format!("{n} found in the chart's default values: review them in values.yaml"),
    };
    let details = vec![
        (
            "chart",
            format!("{} {}{app} → {archive}", chart.name, chart.version),
        ),
        ("images", images),
    ];
    let files = BTreeMap::from([
        ("pack.json".to_string(), json_bytes(manifest)),
        ("values.yaml".to_string(), values.into_bytes()),
        ("README.md".to_string(), readme.into_bytes()),
        (archive, chart.archive),
    ]);
    Ok(Scaffold {
        id: Identity { name, version },
        files,
        details,
    })
}

fn from_manifests(args: &InitArgs) -> anyhow::Result<Scaffold> {
    let (Some(name), Some(version)) = (args.name.clone(), args.version.clone()) else {
        unreachable!("clap requires --name and --version with --manifests");
    };
    let manifests = read_manifests(&args.manifests)?;
    let namespace = namespace(args.namespace.as_deref(), name.as_str())?;
    let paths: Vec<String> = manifests
        .iter()
        .map(|(file, _)| format!("manifests/{file}"))
        .collect();
    let mut manifest = pack_json(&name, &version, name.as_str(), &args.layer);
    manifest.insert("kubeManifests".into(), json!(paths));
    let mut values = pack_section(&namespace, &[], "the manifests");
    values.push_str("manifests:\n");
    for (file, _) in &manifests {
        values.push_str(&format!("  {}: {{}}\n", yaml_scalar(stem(file))));
    }
    let listed: String = paths.iter().map(|p| format!("- `{p}`\n")).collect();
    let readme = format!(
        "# {name}\n\n\
         A Palette pack that applies these Kubernetes manifests, scaffolded by `packpub init`:\n\n\
         {listed}\n\
         ## Parameters\n\n\
         `manifests.<file name>` in values.yaml holds each manifest's parameters. The pack \
         deploys into the namespace `{namespace}` (`pack.namespace`).\n\n\
         Before publishing: add `logo.png`, list the images the manifests run in \
         `pack.content.images`, and describe the pack here.\n"
    );
    let mut files = BTreeMap::from([
        ("pack.json".to_string(), json_bytes(manifest)),
        ("values.yaml".to_string(), values.into_bytes()),
        ("README.md".to_string(), readme.into_bytes()),
    ]);
    let count = manifests.len();
    for ((_, bytes), path) in manifests.into_iter().zip(paths) {
        files.insert(path, bytes);
    }
    Ok(Scaffold {
        id: Identity { name, version },
        files,
        details: vec![("manifests", format!("{count} copied into manifests/"))],
    })
}

/// pack.json's common fields, in the order pack-central writes them.
fn pack_json(
    name: &PackName,
    version: &PackVersion,
    display: &str,
    layer: &str,
) -> serde_json::Map<String, Value> {
    let mut doc = serde_json::Map::new();
    doc.insert("name".into(), json!(name.as_str()));
    doc.insert("version".into(), json!(version.as_str()));
    doc.insert("displayName".into(), json!(display));
    doc.insert("layer".into(), json!(layer));
    if layer == "addon" {
        doc.insert("addonType".into(), json!(ADDON_TYPE));
    }
    doc.insert("cloudTypes".into(), json!(["all"]));
    doc
}

fn json_bytes(doc: serde_json::Map<String, Value>) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON serialises");
    text.push('\n');
    text.into_bytes()
}

/// `--namespace`, checked, or `default` made into a namespace name.
fn namespace(given: Option<&str>, default: &str) -> anyhow::Result<String> {
    let Some(given) = given else {
        return Ok(label(default));
    };
    let ok = given.len() <= 63
        && given.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && given.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && given
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        return Ok(given.to_string());
    }
    Err(usage(format!(
        "--namespace {:?} is not a Kubernetes namespace name (lower-case letters, digits and \
         '-', at most 63, starting and ending with a letter or digit). Fix: use e.g. \"{}\"",
        escape(given),
        label(given)
    )))
}

/// `text` as a namespace name (RFC 1123 label): lower case, every other run of characters one
/// '-', at most 63 characters.
fn label(text: &str) -> String {
    let mut label = String::new();
    for c in text.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            label.push(c);
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label: String = label.trim_matches('-').chars().take(63).collect();
    match label.trim_end_matches('-') {
        "" => "default".to_string(),
        label => label.to_string(),
    }
}

/// values.yaml's `pack:` section; `source` says where images were looked for.
fn pack_section(namespace: &str, images: &[(String, String)], source: &str) -> String {
    let mut text = format!(
        "pack:\n  # The namespace the pack deploys into; Palette creates it when missing.\n  \
         namespace: {}\n  content:\n",
        yaml_quoted(namespace)
    );
    if images.is_empty() {
        text.push_str(&format!(
            "    # List every image the pack pulls, one `- image: REGISTRY/REPOSITORY:TAG` each \
             (none were found in {source}); pack-central requires them for add-ons.\n    \
             images: []\n"
        ));
    } else {
        text.push_str("    images:\n");
        for (reference, comment) in images {
            text.push_str(&format!(
                "      - image: {}   # review: {comment}\n",
                yaml_scalar(reference)
            ));
        }
    }
    text
}

/// The chart's values.yaml: the pack section with the images found, then the chart's own
/// values verbatim (comments kept) under `charts.<chart name>`, checked to read back as the
/// same values.
fn chart_values(chart: &Chart, namespace: &str) -> anyhow::Result<String> {
    let images: Vec<(String, String)> = chart
        .images
        .iter()
        .map(|image| {
            let mut comment = format!("found at charts.{}.{}", chart.name, image.at);
            if let Some(note) = image.note {
                comment.push_str("; ");
                comment.push_str(note);
            }
            (image.reference.clone(), comment)
        })
        .collect();
    let mut text = pack_section(namespace, &images, "the chart's default values");
    text.push_str("charts:\n");
    let key = yaml_scalar(&chart.name);
    let original = chart.values_yaml.as_deref().unwrap_or_default();
    let body = without_document_start(original);
    let expected = match chart::yaml_tree(body, Target::Interface).ok() {
        Some(doc) if doc.as_map().is_some_and(|entries| !entries.is_empty()) => {
            text.push_str(&format!("  {key}:\n"));
            text.push_str(&indented(body, |_| true));
            doc
        }
        // Helm's values are a mapping; none (or only comments) is an empty one.
        _ => {
            text.push_str(&format!("  {key}: {{}}\n"));
            text.push_str(&indented(body, |line| line.trim_start().starts_with('#')));
            Node::Map(Default::default())
        }
    };
    let nested = chart::yaml_tree(&text, Target::Interface)
        .ok()
        .and_then(|doc| doc.get("charts")?.get(&chart.name).cloned());
    if nested.as_ref() != Some(&expected) {
        return Err(Failure::err(
            Code::InvalidPack,
            format!(
                "the values.yaml of chart {} does not read the same once indented under \
                 charts.{} (it holds YAML directives, document markers or several documents); \
                 simplify it, or copy the values there by hand",
                chart.name, chart.name
            ),
        ));
    }
    Ok(text)
}

/// `text` without a leading `---` line (after comments), which cannot stand inside a mapping.
fn without_document_start(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed == "---" {
            return &text[offset + line.len()..];
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            break;
        }
        offset += line.len();
    }
    text
}

/// The lines of `text` that `keep` accepts, each indented by four spaces (empty lines stay
/// empty), ending with a newline.
fn indented(text: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|line| keep(line)) {
        if !line.is_empty() {
            out.push_str("    ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `text` as a YAML scalar that reads back as the same string: plain when that is unambiguous
/// (a letter first, no indicators, not a YAML 1.1 boolean or null), else double-quoted (JSON's
/// escapes are YAML's).
fn yaml_scalar(text: &str) -> String {
    let reserved = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:@+-".contains(c))
        && !text.contains(":/")
        && !reserved.contains(&text.to_ascii_lowercase().as_str());
    if plain {
        text.to_string()
    } else {
        yaml_quoted(text)
    }
}

fn yaml_quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// A manifest's file name without its extension: its key under `manifests:`.
fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(stem, _)| stem)
}

/// The manifests named on the command line, by file name, with their bytes: files as given,
/// and the `*.yaml` / `*.yml` files directly in each folder (sorted; links refused). Each is
/// read with a cap and must be YAML.
fn read_manifests(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut found: Vec<(String, PathBuf, bool)> = Vec::new();
    for path in paths {
        let shown = escape(&path.display().to_string()).into_owned();
        let meta =
            fs::metadata(path).map_err(|err| usage(format!("--manifests {shown}: {err}")))?;
        if !meta.is_dir() {
            let name = file_name(path)?;
            found.push((name, path.clone(), false));
            continue;
        }
        let mut in_folder = Vec::new();
        for entry in fs::read_dir(path).with_context(|| format!("cannot list {shown}"))? {
            let entry = entry.with_context(|| format!("cannot list {shown}"))?;
            let path = entry.path();
            let name = file_name(&path)?;
            if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            }
            if entry.file_type()?.is_symlink() {
                return Err(Failure::err(
                    Code::InvalidPack,
                    format!(
                        "{} is a symbolic link; packpub does not follow links in a folder: pass \
                         the file it points to",
                        escape(&path.display().to_string())
                    ),
                ));
            }
            in_folder.push((name, path, true));
        }
        if in_folder.is_empty() {
            return Err(usage(format!(
                "--manifests {shown}: the folder holds no *.yaml or *.yml file"
            )));
        }
        in_folder.sort();
        found.extend(in_folder);
        if found.len() > MAX_MANIFESTS {
            return Err(usage(format!("more than {MAX_MANIFESTS} manifests")));
        }
    }
    let mut by_stem: BTreeMap<&str, &Path> = BTreeMap::new();
    for (name, path, _) in &found {
        if let Some(other) = by_stem.insert(stem(name), path) {
            return Err(usage(format!(
                "{} and {} would both be manifests.{} in values.yaml (and may share a file \
                 name in manifests/); rename one",
                escape(&other.display().to_string()),
                escape(&path.display().to_string()),
                escape(stem(name))
            )));
        }
    }
    found
        .into_iter()
        .map(|(name, path, in_folder)| {
            let bytes = read_manifest(&path, in_folder)?;
            Ok((name, bytes))
        })
        .collect()
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            usage(format!(
                "{} has no file name that is UTF-8",
                escape(&path.display().to_string())
            ))
        })
}

/// Reads one manifest (never through a link when it was found in a folder, never waiting on a
/// FIFO) and checks it is YAML.
fn read_manifest(path: &Path, in_folder: bool) -> anyhow::Result<Vec<u8>> {
    let shown = escape(&path.display().to_string()).into_owned();
    let refuse = |why: String| Failure::err(Code::InvalidPack, format!("manifest {shown} {why}"));
    let bytes = crate::files::read_capped(path, MANIFEST_LIMIT, in_folder).map_err(|why| {
        refuse(match why {
            Unreadable::NotFile => "is not a regular file".into(),
            Unreadable::TooLarge => {
                format!("is larger than {MANIFEST_LIMIT} bytes, the limit for a manifest")
            }
            // A link found in a folder fails to open (ELOOP), as before: unreadable.
            Unreadable::Link => "cannot be read: it is a symbolic link".into(),
            Unreadable::Io(err) => format!("cannot be read: {err}"),
        })
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| refuse("is not UTF-8 text".into()))?;
    let findings = pack::file_findings(pack::Role::Manifest, text);
    if let Some(error) = findings.list.iter().find(|f| f.severity == Severity::Error) {
        return Err(refuse(format!(
            "is not a manifest Palette can apply: {}",
            error.message
        )));
    }
    Ok(bytes)
}

/// Writes the scaffold into a staging folder in `-o`, validates it as `pack` would, and renames
/// it to `<name>-<version>` there (replacing what is there with `--force`). Returns the path
/// and the validation's warnings.
fn place(
    scaffold: &Scaffold,
    args: &InitArgs,
    mtime: u64,
    out: &Output,
) -> anyhow::Result<(PathBuf, Vec<pack::Finding>)> {
    let folder = format!("{}-{}", scaffold.id.name, scaffold.id.version);
    let target = args.output.join(&folder);
    let exists = |target: &Path| fs::symlink_metadata(target).is_ok();
    let refuse_existing = || {
        usage(format!(
            "{} already exists; pass --force to replace it, or -o another folder",
            target.display()
        ))
    };
    if exists(&target) && !args.force {
        return Err(refuse_existing());
    }
    // A file where the folder (or one above it) should be is the user's slip: a usage error.
    let not_a_folder = || {
        usage(format!(
            "-o {}: a file is in the way; name a folder (it is created when missing)",
            escape(&args.output.display().to_string())
        ))
    };
    if fs::metadata(&args.output).is_ok_and(|m| !m.is_dir()) {
        return Err(not_a_folder());
    }
    fs::create_dir_all(&args.output).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists => not_a_folder(),
        _ => anyhow::Error::new(err).context(format!(
            "cannot create output folder {}",
            args.output.display()
        )),
    })?;
    let staging = tempfile::Builder::new()
        .prefix(".packpub-")
        .tempdir_in(&args.output)
        .with_context(|| format!("cannot write in {}", args.output.display()))?;
    // Named as the target, so validation sees the folder name the pack will have.
    let root = staging.path().join(&folder);
    for (path, bytes) in &scaffold.files {
        let file = root.join(path);
        fs::create_dir_all(file.parent().expect("inside the root"))?;
        fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    }
    let build = BuildOptions {
        strict: false,
        profile: Default::default(),
        recipe: Recipe::on_every_core(mtime),
        allowed: args.allowed.clone(),
    };
    let checked = pack::load(
        &LocalInput::Folder(root.clone()),
        &build,
        pack::read::Limits::default(),
        ArchiveTo::Nowhere,
        out,
    )?;
    crate::interrupt::check()?;
    // Checked again: another process may have made it meanwhile.
    let replaced = staging.path().join(".replaced");
    if exists(&target) {
        if !args.force {
            return Err(refuse_existing());
        }
        fs::rename(&target, &replaced)
            .with_context(|| format!("cannot move {} aside", target.display()))?;
    }
    if let Err(err) = fs::rename(&root, &target) {
        if exists(&replaced) {
            let _ = fs::rename(&replaced, &target);
        }
        return Err(err).with_context(|| format!("cannot write {}", target.display()));
    }
    Ok((target, checked.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for (text, written) in [
            ("docker.io/nginx:1.25", "docker.io/nginx:1.25"),
            ("nginx@sha256:ab", "nginx@sha256:ab"),
            ("yes", "\"yes\""),
            ("1.10", "\"1.10\""),
            ("a\nb: c", "\"a\\nb: c\""),
            ("http://x", "\"http://x\""),
        ] {
            assert_eq!(yaml_scalar(text), written, "{text}");
        }
    }

    #[test]
    fn namespaces_are_labels() {
        assert_eq!(label("My_Chart.v2"), "my-chart-v2");
        assert_eq!(label("__"), "default");
        assert_eq!(label(&"a".repeat(70)).len(), 63);
        assert!(namespace(Some("Bad_NS"), "x").is_err());
        assert_eq!(namespace(None, "cert-manager").unwrap(), "cert-manager");
    }

    #[test]
    fn a_leading_document_start_is_dropped() {
        assert_eq!(without_document_start("# c\n---\na: 1\n"), "a: 1\n");
        assert_eq!(
            without_document_start("a: 1\n---\nb: 2\n"),
            "a: 1\n---\nb: 2\n"
        );
    }
}
