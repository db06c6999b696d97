//! Cursor paging shared by every list endpoint: `?limit=&cursor=` in, `{items, nextCursor}` out.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::Error;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 100;

/// An opaque position in a list: the id of the last item of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub Uuid);

impl Cursor {
    pub fn encode(self) -> String {
        B64.encode(self.0.as_bytes())
    }

    pub fn decode(raw: &str) -> Result<Self, Error> {
        B64.decode(raw)
            .ok()
            .and_then(|bytes| Uuid::from_slice(&bytes).ok())
            .map(Self)
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor returned by this API"))
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `nextCursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn parse(&self) -> Result<(u64, Option<Cursor>), Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let cursor = self.cursor.as_deref().map(Cursor::decode).transpose()?;
        Ok((limit, cursor))
    }
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` was fetched with `limit + 1`: the extra row only tells that there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, id: impl Fn(&T) -> Uuid) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if has_more {
            rows.last().map(|r| Cursor(id(r)).encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let c = Cursor(Uuid::now_v7());
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
    }

    #[test]
    fn a_forged_cursor_is_a_validation_error() {
        let err = Cursor::decode("not-a-cursor!").expect_err("invalid");
        assert_eq!(err.errors[0].field, "cursor");
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        for limit in [0, 101] {
            let params = PageParams {
                limit: Some(limit),
                cursor: None,
            };
            assert!(params.parse().is_err());
        }
    }

    #[test]
    fn a_next_cursor_is_given_only_when_there_is_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), 2, |id| *id);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(Cursor(ids[1]).encode()));
        let last = Page::from_rows(ids[..2].to_vec(), 2, |id| *id);
        assert!(last.next_cursor.is_none());
    }
}
