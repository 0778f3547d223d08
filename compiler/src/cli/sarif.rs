//! SARIF 2.1.0 as GitHub code scanning reads it, for `check --format sarif` and
//! `diff --format sarif`: typed models, serialised with serde (spec/diff.md, "SARIF").
//!
//! One run; `tool.driver` lists a rule for every code the run can report (`id`, a PascalCase
//! `name`, short and full descriptions, `help` as text and Markdown, the default level,
//! `security` tags); each result has `ruleId`, `ruleIndex`, `level`, a one-line message, one
//! physical location (a repository-relative `uri` under `uriBaseId` `%SRCROOT%`, a region in
//! lines and code-point columns) and `partialFingerprints.primaryLocationLineHash`, a hash of
//! the rule, the route and the subject, so an alert keeps its identity when lines move.

use serde::Serialize;

/// The log.
#[derive(Debug, Serialize)]
pub(crate) struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    automation_details: AutomationDetails,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Debug, Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Debug, Serialize)]
struct Text {
    text: String,
}

#[derive(Debug, Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Fingerprints {
    primary_location_line_hash: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The project's repository (Cargo.toml's `repository`): every link in a SARIF log is built
/// from it.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// `CODE ANCHOR` lines: the GitHub anchor of each code's heading in spec/diagnostics.md
/// (generated from the file; `cargo test --test diff sarif_links` checks it and, with
/// `BLESS=1`, rewrites it).
const DIAGNOSTIC_ANCHORS: &str = include_str!("sarif_anchors.txt");

/// The anchor of diagnostic `code`'s heading in spec/diagnostics.md (empty when unknown).
pub(crate) fn diagnostic_anchor(code: &str) -> &'static str {
    DIAGNOSTIC_ANCHORS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(c, _)| *c == code)
        .map_or("", |(_, a)| a)
}

/// The link to section `anchor` of spec file `doc` in the repository.
fn spec_link(doc: &str, anchor: &str) -> String {
    if anchor.is_empty() {
        format!("{REPOSITORY}/blob/main/spec/{doc}")
    } else {
        format!("{REPOSITORY}/blob/main/spec/{doc}#{anchor}")
    }
}

/// One result before it becomes SARIF.
pub(crate) struct Item {
    /// The rule id (`GL0201`, `GL1501`).
    pub rule: String,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    /// One line.
    pub message: String,
    /// Repository-relative path.
    pub uri: String,
    /// 1-based start line and column, end line and column.
    pub region: (usize, usize, usize, usize),
    /// What, besides the rule, names the finding (route, subject).
    pub identity: String,
    /// Extra properties (the diff's `latent`, `legacy`, `witness`).
    pub properties: Option<serde_json::Value>,
}

/// A rule before it becomes SARIF.
pub(crate) struct RuleInfo {
    /// `GLnnnn`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// A longer description.
    pub full: String,
    /// The default level.
    pub level: &'static str,
    /// The spec file documenting it (`diagnostics.md`, `diff.md`).
    pub doc: &'static str,
    /// The GitHub anchor of the heading in `doc` that documents it.
    pub anchor: &'static str,
    /// Whether it is about access (`security-severity` set).
    pub security: bool,
}

/// `GL0201` + "not an origin" -> `NotAnOrigin`.
fn pascal(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable hash of a finding's identity.
fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The SARIF log of one run of `command` (`check`, `no-new-access`).
pub(crate) fn log(command: &str, rules: &[RuleInfo], items: Vec<Item>) -> Log {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let results = items
        .into_iter()
        .map(|i| {
            let rule_index = rules.iter().position(|r| r.id == i.rule).unwrap_or(0);
            let key = format!("{}|{}|{}", i.rule, i.uri, i.identity);
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            SarifResult {
                rule_id: i.rule,
                rule_index,
                level: i.level,
                message: Text { text: i.message },
                locations: vec![Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation {
                            uri: i.uri,
                            uri_base_id: "%SRCROOT%",
                        },
                        region: Region {
                            start_line: i.region.0.max(1),
                            start_column: i.region.1.max(1),
                            end_line: i.region.2.max(i.region.0).max(1),
                            end_column: i.region.3.max(1),
                        },
                    },
                }],
                partial_fingerprints: Fingerprints {
                    primary_location_line_hash: format!("{:016x}:{n}", fnv(&key)),
                },
                properties: i.properties,
            }
        })
        .collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "guestlist",
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: REPOSITORY,
                    rules: rules
                        .iter()
                        .map(|r| Rule {
                            id: r.id.clone(),
                            name: pascal(&r.title),
                            short_description: Text {
                                text: r.title.clone(),
                            },
                            full_description: Text {
                                text: r.full.clone(),
                            },
                            help: Help {
                                text: format!("{} See spec/{} ({}).", r.full, r.doc, r.id),
                                markdown: format!(
                                    "**{}**: {}\n\nSee [`spec/{}`]({}) ({}).",
                                    r.id,
                                    r.full,
                                    r.doc,
                                    spec_link(r.doc, r.anchor),
                                    r.id
                                ),
                            },
                            help_uri: spec_link(r.doc, r.anchor),
                            default_configuration: Configuration { level: r.level },
                            properties: RuleProperties {
                                tags: if r.security {
                                    vec!["security", "guestlist"]
                                } else {
                                    vec!["guestlist"]
                                },
                                security_severity: r.security.then_some("7.0"),
                            },
                        })
                        .collect(),
                },
            },
            automation_details: AutomationDetails {
                id: format!("guestlist/{command}/"),
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// Serialises a log, pretty-printed, with a final newline.
pub(crate) fn to_string(log: &Log) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(log)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(super::pascal("`null` origin"), "NullOrigin");
        assert_eq!(
            super::pascal("an origin may now read a route"),
            "AnOriginMayNowReadARoute"
        );
    }
}
