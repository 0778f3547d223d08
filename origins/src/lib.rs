//! Origin validation for guestlist.
//!
//! Browsers send `Origin` as the ASCII serialization `scheme://host[:port]` (lowercase, no
//! default port, no trailing slash, IDNs in punycode, IPv6 in RFC 5952 form), and guestlist
//! compares origins byte-exactly. Every entry must already be in that form: anything else is a
//! [`Finding`], with a machine-applicable fix when the canonical form is certain.
//!
//! The compiler checks the origin literals of a policy with [`analyze`] and turns findings into
//! its diagnostics; the runtime (feature `provided`) checks each entry of a set supplied at run
//! time with [`check_supplied`], under the same rules and messages, in the strictest context the
//! set is used in. [`read_entries`] reads a supplied set's file (`ORIGIN [KEY]` lines).

#![forbid(unsafe_code)]

mod finding;
mod origin;

mod analyze;
mod file;
mod overlap;
mod supplied;

pub use analyze::{
    analyze, host_to_ascii, ipv6_canonical, is_public_suffix, registrable_domain, Analysis,
};
pub use file::{
    parse_entries, read_bounded, read_entries, FileEntry, FileError, MAX_ENTRIES, MAX_FILE_BYTES,
    MAX_LINE_ERRORS,
};
pub use finding::{Finding, Severity};
pub use origin::Origin;
pub use overlap::{host_and_domains, overlap, tenant_overlaps};
pub use supplied::{
    check_key, check_supplied, insecure_with_credentials, public_suffix_wildcard, Context,
    MAX_ENTRY_BYTES, PATTERN_NOT_DECLARED,
};
