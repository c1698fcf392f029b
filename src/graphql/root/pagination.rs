//! Connections and their pages: `first`/`after`, opaque cursors, `totalCount` counted only when asked.

use juniper::{Executor, FieldResult, GraphQLObject};

use super::super::context::Ctx;
use super::super::errors::field_error;
use super::super::types::*;
use crate::error::AppError;

/// Largest page a client can ask for.
pub const MAX_PAGE: i32 = 100;

#[derive(GraphQLObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Cursors are opaque to clients: hex of "kind:number".
pub(super) fn encode_cursor(kind: &str, n: i64) -> String {
    format!("{kind}:{n}").bytes().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn decode_cursor(kind: &str, c: &str) -> Result<i64, AppError> {
    let bad = || AppError::bad_input("after", "after: not a cursor returned by this list");
    if !c.len().is_multiple_of(2) || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&c[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n < i64::MAX / 2)
        .ok_or_else(bad)
}

/// A connection's total: counted only when the selection asks for it (`totalCount`, or `pageInfo`
/// which needs it), and then remembered until the next write (see [`Ctx::count`]).
pub(super) fn total_of(
    context: &Ctx,
    executor: &Executor<'_, '_, Ctx>,
    key: String,
    offset: i64,
    shown: usize,
    count: impl FnOnce(&mut crate::store::Db) -> diesel::QueryResult<i64>,
) -> FieldResult<i64> {
    let look = executor.look_ahead();
    if ["totalCount", "pageInfo"].iter().any(|n| look.children().select(n).is_some()) {
        context.count(key, count)
    } else {
        Ok(offset + shown as i64)
    }
}

/// A page holds 1 to `MAX_PAGE` items.
pub(super) fn page_size(first: i32) -> FieldResult<i64> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(first.into())
    } else {
        Err(field_error(AppError::bad_input("first", format!("first: must be between 1 and {MAX_PAGE}"))))
    }
}

/// Validates `first`/`after` into (offset, limit).
pub(super) fn window(first: i32, after: Option<String>) -> FieldResult<(i64, i64)> {
    page_size(first)?;
    let offset = match after {
        Some(c) => decode_cursor("offset", &c).map_err(field_error)? + 1,
        None => 0,
    };
    Ok((offset, first.into()))
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $doc:literal, offset) => {
        connection!($conn, $edge, $node, $doc);

        impl $conn {
            pub(crate) fn from_offset(nodes: Vec<$node>, offset: i64, total: i64) -> Self {
                let n = nodes.len() as i64;
                let edges: Vec<$edge> = nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, node)| $edge { cursor: encode_cursor("offset", offset + i as i64), node })
                    .collect();
                $conn {
                    page_info: PageInfo {
                        has_next_page: offset + n < total,
                        has_previous_page: offset > 0,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                    total_count: total as i32,
                }
            }
        }
    };
    ($conn:ident, $edge:ident, $node:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            /// How many records match, over all pages.
            pub total_count: i32,
        }

        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }
    };
}

connection!(OzgServiceConnection, OzgServiceEdge, OzgService, "A page of OZG-Leistungen.", offset);
connection!(OrganisationConnection, OrganisationEdge, Organisation, "A page of organisations.", offset);
connection!(ProjectConnection, ProjectEdge, Project, "A page of implementation projects.", offset);
connection!(ChangeConnection, ChangeEdge, ChangeEntry, "A page of change-log entries, oldest first.");

#[cfg(test)]
mod cursor_tests {
    use super::{decode_cursor, encode_cursor};

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        for n in [0, 1, 99, 1_000_000] {
            assert_eq!(decode_cursor("offset", &encode_cursor("offset", n)).unwrap(), n);
        }
        // Another list's cursor, text that is not ours, odd or overlong hex, negative or huge numbers.
        let foreign = encode_cursor("change", 5);
        let negative: String = "offset:-1".bytes().map(|b| format!("{b:02x}")).collect();
        let huge = encode_cursor("offset", i64::MAX);
        for c in [foreign.as_str(), "zz", "abc", "", negative.as_str(), huge.as_str(), &"61".repeat(40)] {
            let e = decode_cursor("offset", c).unwrap_err();
            assert!(e.to_string().contains("after: not a cursor"), "{c}: {e}");
        }
    }
}
