//! Every validation rule, with a stable id, its severity in each profile and why it exists: the
//! one list `pack`, `push`, `verify` and `lint` report against, and the rules table of docs/rules.md
//! (a test keeps the two the same), with the rules that can never be allowed and why. Ids never
//! change meaning; a retired rule's id is not reused.

use serde::Serialize;

/// How much a finding of a rule counts: an error blocks, a warning only under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Which rule set applies: Palette's own (`default`: reports no error on a pack Palette
/// accepts), or pack-central's CI, which also rejects what Palette tolerates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    #[default]
    Default,
    PackCentral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    FileUnreadable,
    SpecialFile,
    Link,
    FolderSize,
    PackignorePattern,
    PackJsonUnreadable,
    RequiredField,
    PackName,
    PackVersion,
    Layer,
    VersionStyle,
    CloudTypes,
    Constraints,
    ReferencedFile,
    FolderName,
    ValuesYaml,
    Logo,
    Readme,
    ArchiveName,
    Images,
    ImageEntries,
    Manifest,
    DuplicateKey,
    Schema,
    Presets,
    Chart,
    ChartSafety,
    ChartValues,
    ChartUnknownKey,
    Semver,
    Template,
    Settings,
}

impl Rule {
    pub const ALL: &'static [Rule] = &[
        Rule::FileUnreadable,
        Rule::SpecialFile,
        Rule::Link,
        Rule::FolderSize,
        Rule::PackignorePattern,
        Rule::PackJsonUnreadable,
        Rule::RequiredField,
        Rule::PackName,
        Rule::PackVersion,
        Rule::Layer,
        Rule::VersionStyle,
        Rule::CloudTypes,
        Rule::Constraints,
        Rule::ReferencedFile,
        Rule::FolderName,
        Rule::ValuesYaml,
        Rule::Logo,
        Rule::Readme,
        Rule::ArchiveName,
        Rule::Images,
        Rule::ImageEntries,
        Rule::Manifest,
        Rule::DuplicateKey,
        Rule::Schema,
        Rule::Presets,
        Rule::Chart,
        Rule::ChartSafety,
        Rule::ChartValues,
        Rule::ChartUnknownKey,
        Rule::Semver,
        Rule::Template,
        Rule::Settings,
    ];

    /// The id, severity under the default profile, whether pack-central makes it an error, and
    /// the reason.
    fn facts(self) -> (&'static str, Severity, bool, &'static str) {
        use Severity::{Error, Warning};
        match self {
            Rule::FileUnreadable => (
                "PP001",
                Error,
                false,
                "a file that cannot be read (or is not UTF-8 where text is needed, or is over its size limit) cannot be packed",
            ),
            Rule::SpecialFile => (
                "PP002",
                Error,
                false,
                "sockets, pipes, devices and names that are not UTF-8 cannot travel in a portable archive",
            ),
            Rule::Link => (
                "PP003",
                Error,
                false,
                "a link outside the folder, a broken one, or a folder reached twice would pack what the author did not mean",
            ),
            Rule::FolderSize => (
                "PP004",
                Error,
                false,
                "a folder that cannot be listed, or that holds over 100,000 entries, is not a pack",
            ),
            Rule::PackignorePattern => (
                "PP005",
                Error,
                false,
                "a .packignore line that is not a gitignore pattern would silently pack what it meant to leave out",
            ),
            Rule::PackJsonUnreadable => (
                "PP010",
                Error,
                false,
                "pack.json is the pack's identity: it must exist, be a JSON object and stay under 1 MiB",
            ),
            Rule::RequiredField => (
                "PP011",
                Error,
                false,
                "Palette needs name, version, displayName and layer as non-empty strings",
            ),
            Rule::PackName => (
                "PP012",
                Error,
                false,
                "the name becomes an OCI repository component: lower case, digits, separators",
            ),
            Rule::PackVersion => ("PP013", Error, false, "the version becomes the OCI tag"),
            Rule::Layer => (
                "PP014",
                Error,
                false,
                "Palette places a pack in a profile by its layer",
            ),
            Rule::VersionStyle => (
                "PP015",
                Warning,
                true,
                "pack-central rejects a version with a leading 'v'",
            ),
            Rule::CloudTypes => (
                "PP016",
                Warning,
                true,
                "Palette offers a pack only for the cloud types it names",
            ),
            Rule::Constraints => (
                "PP017",
                Warning,
                true,
                "Palette ignores constraints it cannot read, so the pack's dependencies go unchecked",
            ),
            Rule::ReferencedFile => (
                "PP018",
                Error,
                false,
                "a chart, manifest or role that pack.json names must be inside the archive",
            ),
            Rule::FolderName => (
                "PP019",
                Warning,
                false,
                "the folder's name becomes the archive's top folder; <name>-<version> is the convention",
            ),
            Rule::ValuesYaml => (
                "PP020",
                Error,
                false,
                "values.yaml is mandatory (it may be empty) and must be what Helm reads values from: YAML Go's reader accepts whose first document is a mapping or empty",
            ),
            Rule::Logo => (
                "PP021",
                Warning,
                true,
                "Palette shows logo.png in the pack list; pack-central requires it",
            ),
            Rule::Readme => (
                "PP022",
                Warning,
                true,
                "Palette shows README.md as the pack's documentation; pack-central requires it",
            ),
            Rule::ArchiveName => (
                "PP023",
                Error,
                false,
                "an archive must be what `pack` makes: named <name>-<version>.tar.gz after its pack.json, holding <folder>/pack.json and values.yaml",
            ),
            Rule::Images => (
                "PP024",
                Warning,
                true,
                "pack.content.images lists the images an add-on pulls, for air-gapped installs; pack-central requires it for layers other than os and k8s",
            ),
            Rule::ImageEntries => (
                "PP036",
                Warning,
                false,
                "each pack.content.images entry should be `image: REF` with a reference a registry serves, pinned by tag or digest: a template, a mistyped key or a malformed reference cannot be copied to an air-gapped registry (`--with-images` skips it), and no tag means `latest`",
            ),
            Rule::Manifest => (
                "PP025",
                Error,
                false,
                "Palette applies every document of a kubeManifests file as a Kubernetes object: a template Go's parser reads, each document (split as kubectl splits them, template actions aside) YAML Go's reader accepts, with apiVersion and kind",
            ),
            Rule::DuplicateKey => (
                "PP026",
                Warning,
                false,
                "a key written twice in one mapping (values.yaml, kubeManifests): sigs.k8s.io/yaml keeps the last value silently, yaml.v3 refuses the file",
            ),
            Rule::Schema => (
                "PP027",
                Warning,
                false,
                "schema.yaml constrains values in Palette's UI: each key must be a value path of values.yaml, each template use only required, readonly, format (documented kinds) and hints",
            ),
            Rule::Presets => (
                "PP028",
                Warning,
                false,
                "presets.yaml entries need a unique name, displayName and group, paths values.yaml has, and YAML to add; the enabled-presets header names defined presets, one per group",
            ),
            Rule::Chart => (
                "PP029",
                Error,
                false,
                "every charts entry must be a chart archive Helm v3's loader (what Palette runs) loads: its entry names, sizes, Chart.yaml (name, semver version, type), values.yaml, lock files and subcharts, checked as Helm checks them",
            ),
            Rule::ChartSafety => (
                "PP034",
                Error,
                false,
                "packpub's own safety rule, not Helm's: a chart archive entry Helm would load but packpub refuses (a link, device or FIFO, which Helm reads as an empty file; a sparse file; past packpub's bounds on entries, name length, subchart nesting or inflation)",
            ),
            Rule::ChartValues => (
                "PP030",
                Warning,
                true,
                "Palette passes a chart only the values under charts.<Chart.yaml name> (a mapping; pack-central's CI also wants it non-empty): values elsewhere are silently ignored",
            ),
            Rule::ChartUnknownKey => (
                "PP031",
                Warning,
                false,
                "a key under charts.<name> that the chart's own values.yaml does not have is ignored by the chart (free-form {} and [] defaults, and cpu/memory under limits, are allowed)",
            ),
            Rule::Semver => (
                "PP032",
                Warning,
                false,
                "a version that is not semver (MAJOR.MINOR.PATCH) orders unpredictably in Palette's version lists",
            ),
            Rule::Template => (
                "PP035",
                Warning,
                false,
                "template text Palette may not render as meant: a block no {{ end }} closes in values.yaml (Palette does not parse values.yaml as one Go template), a function in kubeManifests that is neither Go's nor Sprig's",
            ),
            Rule::Settings => (
                "PP033",
                Error,
                false,
                ".packpub.yaml says which rules this pack allows: only `allow`, each entry a rule id or {rule, files, reason}, none a rule that can never be allowed",
            ),
        }
    }

    /// Which reader or document the rule follows: a Go reader Palette runs, Palette's or
    /// pack-central's documents, or packpub's own safety.
    pub fn follows(self) -> &'static str {
        match self {
            Rule::FileUnreadable => "packpub's safety",
            Rule::SpecialFile => "packpub's safety",
            Rule::Link => "packpub's safety",
            Rule::FolderSize => "packpub's safety",
            Rule::PackignorePattern => "packpub (gitignore syntax)",
            Rule::PackJsonUnreadable => "Palette's docs",
            Rule::RequiredField => "Palette's docs",
            Rule::PackName => "OCI distribution spec",
            Rule::PackVersion => "OCI distribution spec",
            Rule::Layer => "Palette's docs",
            Rule::VersionStyle => "pack-central's CI",
            Rule::CloudTypes => "Palette's docs",
            Rule::Constraints => "Palette's docs",
            Rule::ReferencedFile => "Palette's docs",
            Rule::FolderName => "pack-central's convention",
            Rule::ValuesYaml => "Helm's values reader: sigs.k8s.io/yaml, go-yaml v2",
            Rule::Logo => "pack-central's CI",
            Rule::Readme => "pack-central's CI",
            Rule::ArchiveName => "Palette's docs (the archive `tar -czf` makes)",
            Rule::Images => "pack-central's CI",
            Rule::ImageEntries => "distribution/reference (what containerd and skopeo read)",
            Rule::Manifest => "text/template, kubectl's document splitter, sigs.k8s.io/yaml",
            Rule::DuplicateKey => "sigs.k8s.io/yaml (keeps the last), yaml.v3 (refuses)",
            Rule::Schema => "Palette's docs",
            Rule::Presets => "Palette's docs",
            Rule::Chart => "Helm v3's chart loader",
            Rule::ChartValues => "Palette's docs, pack-central's CI",
            Rule::ChartUnknownKey => "the chart's own values.yaml",
            Rule::Semver => "Palette's version lists",
            Rule::ChartSafety => "packpub's safety",
            Rule::Template => "text/template, Sprig",
            Rule::Settings => "packpub (.packpub.yaml)",
        }
    }

    pub fn id(self) -> &'static str {
        self.facts().0
    }

    pub fn severity(self, profile: Profile) -> Severity {
        let (_, severity, pack_central, _) = self.facts();
        match profile {
            Profile::PackCentral if pack_central => Severity::Error,
            _ => severity,
        }
    }

    pub fn reason(self) -> &'static str {
        self.facts().3
    }

    /// The rule whose id is `id`, in any case (`pp025`).
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|rule| rule.id().eq_ignore_ascii_case(id))
    }

    /// Why no user may allow this rule ([`super::allow`]), or `None` when one may. What is left
    /// allowable judges content a Palette reader may still accept; these make the pack what it
    /// is, or keep its archive safe, and no judgement of the user's changes that.
    pub fn never_allowed(self) -> Option<&'static str> {
        match self {
            Rule::FileUnreadable
            | Rule::SpecialFile
            | Rule::Link
            | Rule::FolderSize
            | Rule::ArchiveName => Some(
                "it keeps the archive safe and portable: what it refuses (an unreadable or special file, a link, a folder past its limits, an archive `pack` did not shape) cannot be packed or read back as the author meant",
            ),
            Rule::PackJsonUnreadable | Rule::RequiredField | Rule::PackName | Rule::PackVersion => {
                Some(
                    "it is the pack's identity: pack.json's name and version become the registry path and tag, so without them there is no pack to publish",
                )
            }
            Rule::Settings => Some(
                "it reports .packpub.yaml itself, the file that says what is allowed: fix or remove the file",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_rule_is_listed() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
        assert!(ids.iter().all(|id| id.len() == 5 && id.starts_with("PP")));
    }

    /// The rules table of docs/rules.md names every rule with its id, severity and reason.
    #[test]
    fn the_rules_doc_lists_every_rule() {
        let doc = include_str!("../../docs/rules.md");
        for rule in Rule::ALL {
            let pack_central = rule.severity(Profile::PackCentral) == Severity::Error
                && rule.severity(Profile::Default) == Severity::Warning;
            let row = format!(
                "| {} | {} | {} | {} | {} |",
                rule.id(),
                match rule.severity(Profile::Default) {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                if pack_central { "error" } else { "same" },
                rule.follows(),
                rule.reason()
            );
            assert!(doc.contains(&row), "docs/rules.md lacks the row:\n{row}");
            if let Some(why) = rule.never_allowed() {
                assert!(
                    doc.contains(why),
                    "docs/rules.md lacks why {} can never be allowed:\n{why}",
                    rule.id()
                );
            }
        }
    }

    #[test]
    fn ids_are_read_in_any_case() {
        assert_eq!(Rule::from_id("pp025"), Some(Rule::Manifest));
        assert_eq!(Rule::from_id("PP033"), Some(Rule::Settings));
        assert_eq!(Rule::from_id("PP099"), None);
        assert_eq!(Rule::from_id(""), None);
    }
}
