//! Origin sets supplied at run time (`origins NAME provided`; feature `provided`): a SaaS
//! whose customers bring their own domains, origins from deployment configuration.
//!
//! A [`ProvidedSet`] holds its current entries as one immutable table behind an atomic
//! pointer ([`arc_swap`]). [`ProvidedSet::replace`] checks and builds a new table off the
//! request path and publishes it with one swap: a request sees the old table or the new one,
//! never a mix, takes no lock, and allocates nothing to look an origin up. A bad entry keeps
//! the old table.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::keyset::{KeySet, Str};
use crate::origin::PatternSet;
use crate::origin::{match_origin, pattern_set, split_origin, strict_pattern, OriginMatch};

/// Generations of every table ever published, so that a decision and what the layer hands the
/// application afterwards ([`MatchedOrigin`]) can be checked to come from the same table.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The longest origin accepted in a supplied entry (the runtime never matches a longer one).
const MAX_ENTRY: usize = 1024;

/// A set of origins supplied at run time, named in a policy as `origins NAME provided`.
/// Empty until [`ProvidedSet::replace`] fills it.
#[derive(Debug)]
pub struct ProvidedSet {
    name: Str,
    tenant_bound: bool,
    patterns: bool,
    table: ArcSwapOption<ProvidedTable>,
}

/// One published table of a [`ProvidedSet`].
#[derive(Debug)]
pub struct ProvidedTable {
    generation: u64,
    exact: KeySet,
    patterns: PatternSet,
    /// The entries' keys (tenant-bound sets): exact entries first, then patterns, in the
    /// sets' index order.
    keys: Box<[Box<str>]>,
}

/// One entry to supply: an origin (or, in a set declared `patterns`, a pattern such as
/// `https://*.example.com`) and, in a `tenant-bound` set, the key of the tenant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppliedEntry {
    /// The origin, in the canonical form browsers send.
    pub origin: String,
    /// The tenant's key (required in a `tenant-bound` set, refused in any other).
    pub key: Option<String>,
}

/// What a [`ProvidedSet::replace`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Origins in the new table and not in the old one, sorted.
    pub added: Vec<String>,
    /// Origins in the old table and not in the new one, sorted.
    pub removed: Vec<String>,
    /// How many entries the new table holds.
    pub entries: usize,
}

/// Why a supplied entry was refused: the entry's position (from 0) and origin, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// The entry's position in what was supplied, from 0.
    pub index: usize,
    /// The entry's origin as supplied.
    pub origin: String,
    /// Why, as a sentence.
    pub why: String,
}

/// Why [`ProvidedSet::replace`] kept the old table: every refused entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaceError {
    /// The refused entries, in order.
    pub entries: Vec<EntryError>,
}

impl std::fmt::Display for ReplaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} supplied entries refused", self.entries.len())?;
        if let Some(e) = self.entries.first() {
            write!(f, "; entry {} ({:?}): {}", e.index, e.origin, e.why)?;
        }
        Ok(())
    }
}

impl std::error::Error for ReplaceError {}

/// The supplied entry that allowed a request, handed to the application as a request
/// extension: in a `tenant-bound` set, the application checks that the session belongs to
/// [`MatchedOrigin::key`].
#[derive(Debug, Clone)]
pub struct MatchedOrigin {
    set: Str,
    table: Arc<ProvidedTable>,
    entry: u32,
}

impl MatchedOrigin {
    /// The provided set's name.
    pub fn set(&self) -> &str {
        &self.set
    }

    /// The matched entry's tenant key (`None` outside a `tenant-bound` set).
    pub fn key(&self) -> Option<&str> {
        self.table.keys.get(self.entry as usize).map(|k| &**k)
    }
}

impl ProvidedSet {
    /// An empty set (usable in a `static`): `tenant_bound` and `patterns` as declared.
    pub const fn new_static(name: &'static str, tenant_bound: bool, patterns: bool) -> ProvidedSet {
        ProvidedSet {
            name: Cow::Borrowed(name),
            tenant_bound,
            patterns,
            table: ArcSwapOption::const_empty(),
        }
    }

    /// An empty set.
    pub fn new(name: impl Into<String>, tenant_bound: bool, patterns: bool) -> ProvidedSet {
        ProvidedSet {
            name: Cow::Owned(name.into()),
            tenant_bound,
            patterns,
            table: ArcSwapOption::const_empty(),
        }
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether each entry carries its tenant's key.
    pub fn is_tenant_bound(&self) -> bool {
        self.tenant_bound
    }

    /// Whether entries may be patterns.
    pub fn allows_patterns(&self) -> bool {
        self.patterns
    }

    /// How many entries the current table holds.
    pub fn len(&self) -> usize {
        self.table
            .load()
            .as_ref()
            .map_or(0, |t| t.exact.len() + t.patterns.len())
    }

    /// Whether the current table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks every entry, builds a new table and publishes it; on any refused entry the old
    /// table stays and every refusal is returned. Entries are checked as origins written in a
    /// policy are, without opt-outs: the canonical form browsers send, `http` or `https`; no
    /// `*`, no `null`; patterns only in a set declared `patterns`; a key exactly in a
    /// `tenant-bound` set. `covered` refuses entries that would allow an origin a static set
    /// of the policy already lists (the policy's handle passes it).
    pub fn replace<I>(&self, entries: I) -> Result<Report, ReplaceError>
    where
        I: IntoIterator<Item = SuppliedEntry>,
    {
        self.replace_checked(entries, |_| false)
    }

    /// [`ProvidedSet::replace`] with `covered`, which says whether an exact origin is one a
    /// static set already allows.
    pub(crate) fn replace_checked<I>(
        &self,
        entries: I,
        covered: impl Fn(&[u8]) -> bool,
    ) -> Result<Report, ReplaceError>
    where
        I: IntoIterator<Item = SuppliedEntry>,
    {
        let mut errors = Vec::new();
        let mut exact: Vec<(String, Option<String>)> = Vec::new();
        let mut patterns: Vec<(String, Option<String>)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (index, e) in entries.into_iter().enumerate() {
            let mut refuse = |why: String| {
                errors.push(EntryError {
                    index,
                    origin: e.origin.clone(),
                    why,
                });
            };
            match (&e.key, self.tenant_bound) {
                (None, true) => {
                    refuse("a tenant-bound set needs a key after each origin".into());
                    continue;
                }
                (Some(_), false) => {
                    refuse("a key is only taken in a set declared `tenant-bound`".into());
                    continue;
                }
                (Some(k), true) if !is_key(k) => {
                    refuse("a key is 1 to 256 visible ASCII characters".into());
                    continue;
                }
                _ => {}
            }
            match classify(&e.origin) {
                Err(why) => refuse(why),
                Ok(Kind::Pattern) if !self.patterns => {
                    refuse("a pattern is only taken in a set declared `patterns`".into())
                }
                Ok(_) if !seen.insert(e.origin.clone()) => refuse("listed twice".into()),
                Ok(Kind::Exact) if covered(e.origin.as_bytes()) => {
                    refuse("a static origins set of the policy already allows it".into())
                }
                Ok(Kind::Exact) => exact.push((e.origin, e.key)),
                Ok(Kind::Pattern) => patterns.push((e.origin, e.key)),
            }
        }
        if !errors.is_empty() {
            return Err(ReplaceError { entries: errors });
        }
        let table = ProvidedTable::build(exact, patterns).map_err(|why| ReplaceError {
            entries: vec![EntryError {
                index: 0,
                origin: String::new(),
                why,
            }],
        })?;
        let new: std::collections::BTreeSet<String> = table.origins().collect();
        let entries = new.len();
        let old = self.table.swap(Some(Arc::new(table)));
        let old: std::collections::BTreeSet<String> = old
            .as_deref()
            .map(|t| t.origins().collect())
            .unwrap_or_default();
        Ok(Report {
            added: new.difference(&old).cloned().collect(),
            removed: old.difference(&new).cloned().collect(),
            entries,
        })
    }

    /// Which entry allows `origin` in the current table: [`OriginMatch::Provided`] with the
    /// position `set` the caller gives, the entry, and the table's generation.
    #[inline]
    pub(crate) fn match_origin(&self, set: u32, origin: &[u8]) -> Option<OriginMatch> {
        let guard = self.table.load();
        let t = guard.as_ref()?;
        let entry = match match_origin(false, &t.exact, &t.patterns, origin)? {
            OriginMatch::Exact(i) => i,
            OriginMatch::Pattern(i) => u32::try_from(t.exact.len()).ok()?.checked_add(i)?,
            _ => return None,
        };
        Some(OriginMatch::Provided {
            set,
            entry,
            generation: t.generation,
        })
    }

    /// The entry a decision matched, when the current table is still the one the decision
    /// read (`generation`); `None` after a replace.
    #[cfg_attr(
        not(feature = "tower"),
        allow(dead_code, reason = "read only by the tower layer")
    )]
    pub(crate) fn matched(&self, entry: u32, generation: u64) -> Option<MatchedOrigin> {
        let table = self.table.load_full()?;
        (table.generation == generation).then(|| MatchedOrigin {
            set: self.name.clone(),
            table,
            entry,
        })
    }
}

/// An exact origin or a pattern.
enum Kind {
    Exact,
    Pattern,
}

/// Whether `o` is a canonical exact origin or a strict pattern (the forms the runtime
/// matches), or why not.
fn classify(o: &str) -> Result<Kind, String> {
    if o == "*" {
        return Err("`*` would allow every origin".into());
    }
    if o == "null" {
        return Err("any page can send `Origin: null` (a sandboxed iframe, a data: URL)".into());
    }
    if o.len() > MAX_ENTRY {
        return Err(format!("longer than {MAX_ENTRY} bytes"));
    }
    let scheme_ok = o.starts_with("https://") || o.starts_with("http://");
    if !scheme_ok {
        return Err("an origin starts with `https://` or `http://`".into());
    }
    if o.contains('*') {
        return if strict_pattern(o) {
            Ok(Kind::Pattern)
        } else {
            Err("not a pattern of the form `https://*.example.com`, `https://*.example.com:8443`, `https://*.example.com:*` or `https://example.com:*`".into())
        };
    }
    let Some((scheme, host, port)) = split_origin(o.as_bytes()) else {
        return Err(
            "not an origin as browsers send it: `scheme://host[:port]`, lowercase, no path".into(),
        );
    };
    let default = match scheme {
        b"https" => b"443".as_slice(),
        _ => b"80".as_slice(),
    };
    if port == Some(default) {
        return Err("browsers never send the default port: leave it out".into());
    }
    if host.last() == Some(&b'.') {
        return Err("browsers never send a trailing dot".into());
    }
    Ok(Kind::Exact)
}

/// A tenant key: 1 to 256 visible ASCII bytes.
fn is_key(k: &str) -> bool {
    (1..=256).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

impl ProvidedTable {
    fn build(
        exact: Vec<(String, Option<String>)>,
        patterns: Vec<(String, Option<String>)>,
    ) -> Result<ProvidedTable, String> {
        let keys: Box<[Box<str>]> = exact
            .iter()
            .chain(&patterns)
            .filter_map(|(_, k)| k.as_deref().map(Box::from))
            .collect();
        let exact_set =
            KeySet::new(exact.into_iter().map(|(o, _)| o), false).map_err(|e| e.to_string())?;
        let pattern_set = pattern_set(patterns.into_iter().map(|(p, _)| p).collect())
            .map_err(|e| e.to_string())?;
        Ok(ProvidedTable {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            exact: exact_set,
            patterns: pattern_set,
            keys,
        })
    }

    /// Every entry's origin.
    fn origins(&self) -> impl Iterator<Item = String> + '_ {
        self.exact
            .keys()
            .iter()
            .chain(self.patterns.keys())
            .map(|k| k.to_string())
    }
}

/// A provided set as a policy holds it: a `static` of generated code, or shared with the
/// application that replaces it.
#[derive(Debug, Clone)]
pub enum SetRef {
    /// A `static` (generated code).
    Static(&'static ProvidedSet),
    /// Shared.
    Shared(Arc<ProvidedSet>),
}

impl std::ops::Deref for SetRef {
    type Target = ProvidedSet;

    fn deref(&self) -> &ProvidedSet {
        match self {
            SetRef::Static(s) => s,
            SetRef::Shared(s) => s,
        }
    }
}
