//! Parse, don't validate: input strings become these types at the edge, so the domain only
//! ever sees values that fit the database and the platforms' rules.
use std::{fmt, num::NonZeroU64};

use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Characters that change the direction text is shown in (Unicode's bidi embeddings,
/// overrides, isolates and marks): in a name they can make it read as something else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, zero-width characters and joiners, the byte-order
/// mark, the soft hyphen, fillers and variation selectors.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// Rejects what PostgreSQL cannot store (NUL) and what no human-facing text should contain.
fn check_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, Error> {
    let value = raw.trim();
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    if value.chars().any(is_bidi_control) {
        return Err(Error::invalid(
            field,
            "must not contain text-direction control characters",
        ));
    }
    if !value.is_empty() && value.chars().all(is_invisible) {
        return Err(Error::invalid(field, "must contain visible characters"));
    }
    let len = value.chars().count();
    if len < min {
        return Err(Error::invalid(
            field,
            if min == 1 {
                "must not be blank".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
                check_text(field, raw, $min, $max).map(Self)
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A company's display name.
    CompanyName, 1, 200
);
text_type!(
    /// A person's or lead's display name.
    PersonName, 1, 200
);
text_type!(
    /// The CRM's own identifier for a company.
    ExternalId, 1, 200
);
text_type!(
    /// A label for an API key.
    KeyName, 1, 100
);

/// An email address, lowercased. Deliberately simple: one `@`, a dotted domain, no spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let value = raw.trim().to_lowercase();
        let invalid = || Error::invalid(field, "must be an email address like name@example.com");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Passwords too common to protect anything (the most used ones in public breach lists), and
/// words this service makes obvious. NIST SP 800-63B asks that such values be refused.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password!",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "11111111",
    "00000000",
    "12341234",
    "11223344",
    "12121212",
    "123123123",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "basketball",
    "superman",
    "batman123",
    "trustno1",
    "letmein1",
    "letmein!",
    "welcome1",
    "welcome123",
    "abc12345",
    "abcd1234",
    "aa123456",
    "a1234567",
    "monkey12",
    "dragon12",
    "master12",
    "michael1",
    "jennifer",
    "computer",
    "internet",
    "starwars",
    "whatever",
    "mustang1",
    "shadow12",
    "changeme",
    "changeme1",
    "administrator",
    "admin123",
    "admin1234",
    "rootroot",
    "secret12",
    "secret123",
    "test1234",
    "testtest",
    "qazwsxedc",
    "1qaz2wsx",
    "zaq12wsx",
    "samsung1",
    "charlie1",
    "freedom1",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "pokemon1",
    "minecraft",
    "babygirl",
    "lovely12",
    "friends1",
    "butterfly",
    "spiderman",
    "michelle",
    "switchboard",
    "switchboard1",
    "discord1",
    "discord123",
    "correcthorse",
];

fn is_common_password(raw: &str) -> bool {
    let lowered = raw.to_lowercase();
    COMMON_PASSWORDS.contains(&lowered.as_str())
}

/// A password as typed: 8 to 128 characters. Never logged (no Debug of the value).
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let len = raw.chars().count();
        if raw.contains('\0') {
            return Err(Error::invalid(field, "must not contain NUL characters"));
        }
        if len < 8 {
            return Err(Error::invalid(field, "must be at least 8 characters"));
        }
        if len > 128 {
            return Err(Error::invalid(field, "must be at most 128 characters"));
        }
        if raw.trim().is_empty() {
            return Err(Error::invalid(field, "must not be only spaces"));
        }
        let mut chars = raw.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(Error::invalid(field, "must not be one character repeated"));
        }
        if is_common_password(raw) {
            return Err(Error::invalid(
                field,
                "is one of the most common passwords; choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Refuses a password made of the account's own email address (or its name part with a few
    /// characters added).
    pub fn check_against_email(self, field: &str, email: &Email) -> Result<Self, Error> {
        let lowered = self.0.to_lowercase();
        let local = email.as_str().split('@').next().unwrap_or_default();
        // The address itself, or its name part with a few characters added ("ada.lovelace!!").
        let barely_more = lowered
            .strip_prefix(local)
            .is_some_and(|rest| rest.chars().count() <= 4);
        if lowered == email.as_str() || barely_more {
            return Err(Error::invalid(field, "must not contain your email address"));
        }
        Ok(self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A Discord id: a non-zero 64-bit integer written in decimal. In the database it is that
/// decimal text (the TEXT columns that hold Discord ids, read and written through `FromStr`
/// and `Display`); on the wire it is a JSON string, as Discord writes its ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Snowflake(NonZeroU64);

/// Text that is not a Discord id: empty, not only decimal digits, zero, or too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a Discord id (a non-zero number of up to 20 digits)")]
pub struct InvalidSnowflake;

impl Snowflake {
    /// Parses input, naming the field it came from when it is not a Discord id.
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        raw.parse().map_err(|_| {
            Error::invalid(field, "must be a Discord id (a number of up to 20 digits)")
        })
    }

    /// The id with this number; `None` for 0, which no Discord object has.
    pub const fn new(id: u64) -> Option<Self> {
        match NonZeroU64::new(id) {
            Some(id) => Some(Self(id)),
            None => None,
        }
    }

    pub const fn get(self) -> u64 {
        self.0.get()
    }
}

impl std::str::FromStr for Snowflake {
    type Err = InvalidSnowflake;

    fn from_str(raw: &str) -> Result<Self, InvalidSnowflake> {
        if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidSnowflake);
        }
        raw.parse::<NonZeroU64>()
            .map(Self)
            .map_err(|_| InvalidSnowflake)
    }
}

impl From<NonZeroU64> for Snowflake {
    fn from(id: NonZeroU64) -> Self {
        Self(id)
    }
}

impl From<Snowflake> for NonZeroU64 {
    fn from(id: Snowflake) -> Self {
        id.0
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A JSON string, as Discord writes its ids (they do not fit a JavaScript number).
impl Serialize for Snowflake {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// A Discord username under Discord's current rules: 2–32 characters of `a-z 0-9 _ .`, no
/// two periods in a row. Input is lowercased, as Discord does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscordUsername(String);

impl DiscordUsername {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let value = raw.trim().to_lowercase();
        let len = value.chars().count();
        if !(2..=32).contains(&len) {
            return Err(Error::invalid(field, "must be 2 to 32 characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            || value.contains("..")
        {
            return Err(Error::invalid(
                field,
                "may contain only letters, digits, `_` and `.`, with no `..`",
            ));
        }
        Ok(Self(value))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            PersonName::parse("name", "  Ada  ")
                .map(|n| n.into_inner())
                .ok(),
            Some("Ada".into())
        );
    }

    #[test]
    fn blank_names_are_rejected_naming_the_field() {
        let err = PersonName::parse("name", "   ").expect_err("blank");
        assert_eq!(err.errors[0].field, "name");
    }

    #[test]
    fn nul_and_control_characters_are_rejected() {
        assert!(PersonName::parse("name", "a\0b").is_err());
        assert!(CompanyName::parse("companyName", "a\u{7}b").is_err());
        assert!(Password::parse("password", "abcdefgh\0").is_err());
    }

    #[test]
    fn lengths_are_counted_in_characters_not_bytes() {
        assert!(PersonName::parse("name", &"é".repeat(200)).is_ok());
        assert!(PersonName::parse("name", &"é".repeat(201)).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("email", " Ada@Example.COM ")
                .map(Email::into_inner)
                .ok(),
            Some("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@.com",
        ] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn snowflakes_are_decimal_u64_and_not_zero() {
        assert_eq!(
            Snowflake::parse("id", "175928847299117063")
                .map(Snowflake::get)
                .ok(),
            Some(175_928_847_299_117_063)
        );
        for bad in ["", "0", "-1", "12a", "18446744073709551616", " 1"] {
            assert!(
                Snowflake::parse("id", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn snowflakes_are_json_strings_and_round_trip_through_text() {
        let id: Snowflake = "175928847299117063".parse().expect("a Discord id");
        let json = serde_json::json!("175928847299117063");
        assert_eq!(serde_json::to_value(id).ok(), Some(json.clone()));
        assert_eq!(serde_json::from_value::<Snowflake>(json).ok(), Some(id));
        assert!(serde_json::from_value::<Snowflake>(serde_json::json!(1_u64)).is_err());
        assert!(serde_json::from_value::<Snowflake>(serde_json::json!("0")).is_err());
        assert_eq!(id.to_string().parse::<Snowflake>().ok(), Some(id));
        assert_eq!(Snowflake::new(0), None);
    }

    #[test]
    fn discord_usernames_follow_discord_rules() {
        assert!(DiscordUsername::parse("u", "Ada.Lovelace_1").is_ok());
        for bad in ["a", "ada..l", "ada lovelace", "ada#1234", &"a".repeat(33)] {
            assert!(
                DiscordUsername::parse("u", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn passwords_need_eight_to_128_characters() {
        assert!(Password::parse("password", "short").is_err());
        assert!(Password::parse("password", "long enough").is_ok());
    }

    #[test]
    fn common_repeated_blank_and_email_passwords_are_refused() {
        // NIST SP 800-63B: compare against commonly used values and context-specific words.
        for weak in [
            "password",
            "12345678",
            "Password1",
            "qwertyuiop",
            "        ",
            "aaaaaaaa",
            "switchboard",
        ] {
            assert!(
                Password::parse("password", weak).is_err(),
                "{weak:?} was accepted"
            );
        }
        let email = Email::parse("email", "ada.lovelace@example.com").expect("email");
        for own in [
            "ada.lovelace@example.com",
            "ADA.LOVELACE@example.com",
            "ada.lovelace!!",
        ] {
            let parsed = Password::parse("password", own).expect("not common");
            assert!(
                parsed.check_against_email("password", &email).is_err(),
                "{own:?}"
            );
        }
        for fine in [
            "tea at the analytical engine",
            "ada.lovelace wrote the first program",
        ] {
            let fine = Password::parse("password", fine).expect("ok");
            assert!(fine.check_against_email("password", &email).is_ok());
        }
    }

    #[test]
    fn names_need_something_visible_and_no_direction_controls() {
        for invisible in [
            "\u{200b}",
            "\u{200d}",
            "\u{feff}",
            "\u{00ad}",
            "\u{2060}",
            "\u{3164}",
            "\u{200b} \u{200c}",
        ] {
            assert!(
                PersonName::parse("name", invisible).is_err(),
                "{invisible:?} was accepted"
            );
        }
        for bidi in ["abc\u{202e}fed", "\u{2066}Ada\u{2069}", "Ada\u{200f}"] {
            assert!(
                PersonName::parse("name", bidi).is_err(),
                "{bidi:?} was accepted"
            );
        }
        assert!(PersonName::parse("name", "Zoë Łukasz-李雷 \u{1F642}").is_ok());
        assert!(Password::parse("password", &"x".repeat(129)).is_err());
    }

    #[test]
    fn passwords_never_print() {
        let password = Password::parse("password", "hunter2hunter2").expect("valid");
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
