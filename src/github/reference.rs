//! What a user types to link an issue: `owner/repo#123`, or the issue's or pull request's URL.
use url::Url;

use crate::error::{Error, Result};

/// One issue or pull request of one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRef {
    pub owner: String,
    pub repo: String,
    pub number: u32,
}

impl IssueRef {
    /// Parses `owner/repo#123` or `{web}/owner/repo/issues/123` (or `/pull/123`), where `web` is
    /// GitHub's web address (`https://github.com`, or a GitHub Enterprise or sandbox base).
    /// `field` names the input in the error.
    pub fn parse(field: &str, raw: &str, web: &Url) -> Result<Self> {
        let raw = raw.trim();
        let invalid = || {
            Error::invalid(
                field,
                "must be owner/repo#123 or the URL of a GitHub issue or pull request",
            )
        };
        if raw.is_empty() || raw.len() > 300 {
            return Err(invalid());
        }
        let (owner, repo, number) = if let Some(path) = url_path(raw, web) {
            let mut parts = path.trim_end_matches('/').split('/');
            match (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) {
                (Some(owner), Some(repo), Some("issues" | "pull"), Some(number), None) => {
                    (owner.to_owned(), repo.to_owned(), number.to_owned())
                }
                _ => return Err(invalid()),
            }
        } else {
            let (repo_part, number) = raw.split_once('#').ok_or_else(invalid)?;
            let (owner, repo) = repo_part.split_once('/').ok_or_else(invalid)?;
            (owner.to_owned(), repo.to_owned(), number.to_owned())
        };
        if !is_owner(&owner) {
            return Err(Error::invalid(
                field,
                "the owner must be 1 to 39 letters, digits or single hyphens, not starting or ending with a hyphen",
            ));
        }
        if !is_repo(&repo) {
            return Err(Error::invalid(
                field,
                "the repository name must be 1 to 100 letters, digits, '.', '-' or '_'",
            ));
        }
        let number = parse_number(&number)
            .ok_or_else(|| Error::invalid(field, "the number must be a positive whole number"))?;
        Ok(Self {
            owner,
            repo,
            number,
        })
    }

    /// `owner/repo` in lowercase: GitHub's owner and repository names are not case sensitive.
    pub fn repository_key(&self) -> String {
        format!("{}/{}", self.owner, self.repo).to_lowercase()
    }

    /// The stored form: `github:owner/repo#123`, lowercase.
    pub fn key(&self) -> String {
        format!("github:{}#{}", self.repository_key(), self.number)
    }

    /// `owner/repo#123` as typed.
    pub fn display(&self) -> String {
        format!("{}/{}#{}", self.owner, self.repo, self.number)
    }
}

/// The path after GitHub's web address, if `raw` is a URL on it (`https://github.com` is always
/// accepted as well).
fn url_path<'a>(raw: &'a str, web: &Url) -> Option<&'a str> {
    if !raw.starts_with("http://") && !raw.starts_with("https://") {
        return None;
    }
    let bases = [
        web.as_str().trim_end_matches('/'),
        "https://github.com",
        "https://www.github.com",
    ];
    for base in bases {
        if let Some(rest) = raw.strip_prefix(base)
            && let Some(path) = rest.strip_prefix('/')
        {
            // No query or fragment: `…/issues/12#issuecomment-1` is a comment's address.
            let path = path.split(['?', '#']).next().unwrap_or_default();
            return Some(path);
        }
    }
    // A URL somewhere else is not a GitHub issue: say so rather than read it as `owner/repo#n`.
    Some("")
}

fn parse_number(raw: &str) -> Option<u32> {
    if raw.is_empty() || raw.len() > 10 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // GitHub's issue numbers are 32-bit signed integers in its API.
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1 && *n <= i32::MAX as u32)
}

/// GitHub's account names: letters, digits and single hyphens, at most 39 characters, not
/// starting or ending with a hyphen.
fn is_owner(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// GitHub's repository names: letters, digits, `.`, `-` and `_`, at most 100, not `.` or `..`.
fn is_repo(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Url {
        Url::parse("https://github.com").unwrap()
    }

    fn parse(raw: &str) -> Result<IssueRef> {
        IssueRef::parse("ref", raw, &web())
    }

    #[test]
    fn a_short_reference_names_owner_repository_and_number() {
        let r = parse("Acme/Widgets#12").unwrap();
        assert_eq!(
            (r.owner.as_str(), r.repo.as_str(), r.number),
            ("Acme", "Widgets", 12)
        );
        assert_eq!(r.key(), "github:acme/widgets#12");
        assert_eq!(r.display(), "Acme/Widgets#12");
    }

    #[test]
    fn issue_and_pull_request_urls_are_accepted() {
        let issue = parse("https://github.com/acme/widgets/issues/7").unwrap();
        let pull = parse("https://github.com/acme/widgets/pull/8/").unwrap();
        assert_eq!(issue.number, 7);
        assert_eq!(pull.number, 8);
        let comment = parse("https://github.com/acme/widgets/issues/7#issuecomment-1").unwrap();
        assert_eq!(comment.number, 7);
    }

    #[test]
    fn urls_on_the_configured_web_base_are_accepted() {
        let base = Url::parse("http://127.0.0.1:8080/sandbox/github").unwrap();
        let r = IssueRef::parse(
            "ref",
            "http://127.0.0.1:8080/sandbox/github/acme/w/issues/3",
            &base,
        )
        .unwrap();
        assert_eq!(r.key(), "github:acme/w#3");
    }

    #[test]
    fn urls_elsewhere_and_other_pages_are_refused() {
        assert!(parse("https://gitlab.com/acme/widgets/issues/7").is_err());
        assert!(parse("https://github.com/acme/widgets/commit/abc").is_err());
        assert!(parse("https://github.com/acme/widgets").is_err());
    }

    #[test]
    fn malformed_names_and_numbers_are_refused() {
        for bad in [
            "",
            "acme#1",
            "acme/widgets",
            "acme/widgets#",
            "acme/widgets#0",
            "acme/widgets#-1",
            "acme/widgets#1.5",
            "acme/widgets#99999999999",
            "-acme/widgets#1",
            "ac--me/w#1",
            "acme/./#1",
            "acme/wid gets#1",
            "acme/widgets#2147483648",
            "a/b/c#1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse("acme/widgets#2147483647").is_ok());
    }

    #[test]
    fn the_error_names_the_field() {
        let err = parse("nope").unwrap_err();
        assert_eq!(err.errors[0].field, "ref");
    }
}
