//! Origin sets supplied at run time (`origins NAME provided`; feature `provided`): a SaaS
//! whose customers bring their own domains, origins from deployment configuration.
//!
//! A [`ProvidedSet`] holds its current entries as one immutable table behind an atomic
//! pointer ([`arc_swap`]). [`Policy::replace_provided`](crate::Policy::replace_provided)
//! checks entries and builds a new table off the
//! request path and publishes it with one swap: a request sees the old table or the new one,
//! never a mix, takes no lock, and allocates nothing to look an origin up. A bad entry keeps
//! the old table.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::keyset::{KeySet, Str};
use crate::origin::PatternSet;
use crate::origin::{match_origin, pattern_set, strict_pattern, OriginMatch};

/// Generations of every table ever published, so that a decision and what the layer hands the
/// application afterwards ([`MatchedOrigin`]) can be checked to come from the same table.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// A set of origins supplied at run time, named in a policy as `origins NAME provided`.
/// Empty until [`Policy::replace_provided`](crate::Policy::replace_provided) fills it.
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

/// What a [`Policy::replace_provided`](crate::Policy::replace_provided) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Origins in the new table and not in the old one, sorted.
    pub added: Vec<String>,
    /// Origins in the old table and not in the new one, sorted.
    pub removed: Vec<String>,
    /// Origins in both tables whose tenant's key changed (tenant-bound sets), sorted.
    pub changed: Vec<String>,
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
    /// The diagnostic code of the first finding (as `guestlist check` reports an origin
    /// written in a policy), when there is one.
    pub code: Option<&'static str>,
    /// Why, as sentences: each finding's message and help.
    pub why: String,
}

/// Why [`Policy::replace_provided`](crate::Policy::replace_provided) kept the old table:
/// every refused entry.
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

/// The supplied entry of a `tenant-bound` set that allowed a request, handed to the
/// application as a request extension by the tower layer: the application checks that the
/// session belongs to [`MatchedOrigin::key`]. (An entry of any other set is not handed over:
/// it carries no key, and the request's `Origin` is the entry.)
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

    /// The matched entry: an origin, or a pattern in a set declared `patterns`.
    pub fn entry(&self) -> &str {
        let exact = self.table.exact.keys();
        let i = self.entry as usize;
        match exact.get(i) {
            Some(k) => k,
            None => i
                .checked_sub(exact.len())
                .and_then(|j| self.table.patterns.keys().get(j))
                .map_or("", |k| k),
        }
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
    pub(crate) fn new(name: impl Into<String>, tenant_bound: bool, patterns: bool) -> ProvidedSet {
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
    /// table stays and every refusal is returned. Entries are checked with the rules and
    /// messages of an origin written in a policy (`guestlist-origins`) in `context`, a key
    /// exactly in a `tenant-bound` set; `covered` says whether an exact
    /// origin is one a static set already allows.
    ///
    /// `statics` are the exact origins and patterns of the cors policies naming the set: a
    /// supplied pattern may not allow one of them (GL1408 in `guestlist check --origins`).
    pub(crate) fn replace_checked<I>(
        &self,
        entries: I,
        context: guestlist_origins::Context,
        covered: impl Fn(&[u8]) -> bool,
        statics: &[(&KeySet, &PatternSet)],
    ) -> Result<Report, ReplaceError>
    where
        I: IntoIterator<Item = SuppliedEntry>,
    {
        // Checked in one pass over borrowed entries (a duplicate is found without a copy),
        // then moved into the table's vectors, sized once.
        let entries: Vec<SuppliedEntry> = entries.into_iter().collect();
        let mut errors = Vec::new();
        let mut kinds = Vec::with_capacity(entries.len());
        // A tenant-bound set's checked origins, for the overlap rule below.
        let mut origins = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(entries.len());
        for (index, e) in entries.iter().enumerate() {
            let mut refuse = |code: Option<&'static str>, why: String| {
                errors.push(EntryError {
                    index,
                    origin: e.origin.clone(),
                    code,
                    why,
                });
            };
            if let Err(why) = guestlist_origins::check_key(e.key.as_deref(), self.tenant_bound) {
                refuse(None, why.into());
                continue;
            }
            match check(&e.origin, context) {
                Err((code, why)) => refuse(code, why),
                Ok(_) if !seen.insert(e.origin.as_str()) => refuse(None, "listed twice".into()),
                Ok((Kind::Exact, _)) if covered(e.origin.as_bytes()) => refuse(
                    None,
                    "a static origins set of the policy already allows it".into(),
                ),
                Ok((kind, origin)) => {
                    kinds.push(kind);
                    if self.tenant_bound {
                        origins.push(origin);
                    }
                }
            }
        }
        drop(seen);
        if errors.is_empty() && self.tenant_bound {
            // Two tenants' entries allowing a common origin (GL1409).
            let pairs: Vec<(&guestlist_origins::Origin, Option<&str>)> = origins
                .iter()
                .zip(&entries)
                .map(|(o, e)| (o, e.key.as_deref()))
                .collect();
            for (i, j) in guestlist_origins::tenant_overlaps(&pairs) {
                let (Some(a), Some(b)) = (entries.get(i), entries.get(j)) else {
                    continue;
                };
                errors.push(EntryError {
                    index: j,
                    origin: b.origin.clone(),
                    code: Some("GL1409"),
                    why: format!(
                        "it overlaps `{}` (entry {i}), an entry with another tenant's key",
                        a.origin
                    ),
                });
            }
        }
        drop(origins);
        if !errors.is_empty() {
            return Err(ReplaceError { entries: errors });
        }
        let n_exact = kinds.iter().filter(|k| matches!(k, Kind::Exact)).count();
        // Where each pattern was supplied (the table's pattern `i` is the `i`-th).
        let pattern_at: Vec<usize> = kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| matches!(k, Kind::Pattern))
            .map(|(i, _)| i)
            .collect();
        let mut exact = Vec::with_capacity(n_exact);
        let mut patterns = Vec::with_capacity(kinds.len() - n_exact);
        for (e, kind) in entries.into_iter().zip(kinds) {
            match kind {
                Kind::Exact => exact.push((e.origin, e.key)),
                Kind::Pattern => patterns.push((e.origin, e.key)),
            }
        }
        let table = ProvidedTable::build(exact, patterns).map_err(|why| ReplaceError {
            entries: vec![EntryError {
                index: 0,
                origin: String::new(),
                code: None,
                why,
            }],
        })?;
        let mut refused: Vec<EntryError> = table
            .overlaps(statics)
            .into_iter()
            .map(|(i, origin, static_origin)| EntryError {
                index: pattern_at.get(i).copied().unwrap_or(0),
                origin,
                code: Some("GL1408"),
                why: format!(
                    "it allows `{static_origin}`, which a static origins set of the policy already allows"
                ),
            })
            .collect();
        if !refused.is_empty() {
            refused.sort_by_key(|e| e.index);
            return Err(ReplaceError { entries: refused });
        }
        let table = Arc::new(table);
        let old = self.table.swap(Some(Arc::clone(&table)));
        Ok(Report {
            added: table.missing_from(old.as_deref()),
            removed: old
                .as_deref()
                .map_or_else(Vec::new, |o| o.missing_from(Some(&table))),
            changed: table.key_changes(old.as_deref()),
            entries: table.exact.len() + table.patterns.len(),
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

    /// Whether an exact entry of the current table is `origin` (a csrf policy trusts exact
    /// entries only, whatever a table holds).
    #[inline]
    pub(crate) fn has_exact(&self, origin: &[u8]) -> bool {
        self.table
            .load()
            .as_ref()
            .is_some_and(|t| t.exact.get(origin).is_some())
    }

    /// The entry a decision matched ([`OriginMatch::Provided`]'s `entry` and `generation`),
    /// when the current table is still the one the decision read; `None` after a replace.
    pub fn matched(&self, entry: u32, generation: u64) -> Option<MatchedOrigin> {
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

/// Whether `o` is an exact origin or a pattern the set may hold, as `guestlist check` would
/// judge it written in a policy (`guestlist-origins`), or the first finding's code and every
/// finding's message and help.
fn check(
    o: &str,
    context: guestlist_origins::Context,
) -> Result<(Kind, guestlist_origins::Origin), (Option<&'static str>, String)> {
    match guestlist_origins::check_supplied(o, context) {
        Ok(origin) if origin.canonical != o => Err((
            None,
            format!("browsers send it as {:?}: write that", origin.canonical),
        )),
        Ok(origin) if origin.is_pattern() && !strict_pattern(o) => {
            Err((None, "not a pattern the runtime matches".into()))
        }
        Ok(origin) if origin.is_pattern() => Ok((Kind::Pattern, origin)),
        Ok(origin) => Ok((Kind::Exact, origin)),
        Err(findings) => {
            let code = findings.first().map(|f| f.code);
            let why = findings
                .iter()
                .map(|f| match &f.help {
                    Some(h) => format!("{} ({}): {h}", f.message, f.code),
                    None => format!("{} ({})", f.message, f.code),
                })
                .collect::<Vec<_>>()
                .join("; ");
            Err((code, why))
        }
    }
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

    /// The supplied patterns that allow a static origin or pattern of `statics`, or that a
    /// static pattern allows (exact entries were checked on the way in): each
    /// pattern's position among the patterns, its text and the static entry's.
    fn overlaps(&self, statics: &[(&KeySet, &PatternSet)]) -> Vec<(usize, String, String)> {
        let mut out = Vec::new();
        if self.patterns.is_empty() {
            return out;
        }
        let supplied: Vec<Option<guestlist_origins::Origin>> = self
            .patterns
            .keys()
            .iter()
            .map(|p| guestlist_origins::analyze(p).origin)
            .collect();
        for (exact, patterns) in statics {
            for o in exact.keys() {
                if let Some(OriginMatch::Pattern(i)) =
                    match_origin(false, &KeySet::EMPTY, &self.patterns, o.as_bytes())
                {
                    let p = self.patterns.keys().get(i as usize);
                    out.push((
                        i as usize,
                        p.map_or_else(String::new, |p| p.to_string()),
                        o.to_string(),
                    ));
                }
            }
            for sp in patterns.keys() {
                let Some(st) = guestlist_origins::analyze(sp).origin else {
                    continue;
                };
                for (i, o) in supplied.iter().enumerate() {
                    if o.as_ref()
                        .is_some_and(|o| guestlist_origins::overlap(o, &st))
                    {
                        out.push((
                            i,
                            o.as_ref().map_or_else(String::new, |o| o.canonical.clone()),
                            sp.to_string(),
                        ));
                    }
                }
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// The entries of this table that `other` does not hold, sorted (each looked up in
    /// `other`'s sets: no copy of either table).
    /// The key of the entry `origin` (an exact origin or a pattern's text), in a
    /// tenant-bound table.
    fn key_of(&self, origin: &[u8]) -> Option<&str> {
        let i = match self.exact.get(origin) {
            Some(i) => i as usize,
            None => self.exact.len() + self.patterns.get(origin)? as usize,
        };
        self.keys.get(i).map(|k| &**k)
    }

    /// The entries of this table that `old` holds with another key, sorted.
    fn key_changes(&self, old: Option<&ProvidedTable>) -> Vec<String> {
        let Some(old) = old.filter(|_| !self.keys.is_empty()) else {
            return Vec::new();
        };
        let mut out: Vec<String> = self
            .exact
            .keys()
            .iter()
            .chain(self.patterns.keys())
            .filter(|k| {
                let before = old.key_of(k.as_bytes());
                before.is_some() && before != self.key_of(k.as_bytes())
            })
            .map(|k| k.to_string())
            .collect();
        out.sort_unstable();
        out
    }

    fn missing_from(&self, other: Option<&ProvidedTable>) -> Vec<String> {
        let mut out: Vec<String> = match other {
            None => self
                .exact
                .keys()
                .iter()
                .chain(self.patterns.keys())
                .map(|k| k.to_string())
                .collect(),
            Some(o) => self
                .exact
                .keys()
                .iter()
                .filter(|k| o.exact.get(k.as_bytes()).is_none())
                .chain(
                    self.patterns
                        .keys()
                        .iter()
                        .filter(|k| o.patterns.get(k.as_bytes()).is_none()),
                )
                .map(|k| k.to_string())
                .collect(),
        };
        out.sort_unstable();
        out
    }
}

/// A provided set as a policy holds it: a `static` of generated code, or shared with the
/// application that replaces it. Both print as the set (as borrowed and owned tables do).
#[derive(Clone)]
pub enum SetRef {
    /// A `static` (generated code).
    Static(&'static ProvidedSet),
    /// Shared.
    Shared(Arc<ProvidedSet>),
}

impl std::fmt::Debug for SetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
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
