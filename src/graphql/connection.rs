//! Relay-style connections over the domain's offset pages: `first`/`after`,
//! `edges`, `pageInfo`, and `totalCount` (counted only when selected).

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Object, OutputType};

use crate::graphql::error::ApiError;
use crate::paging::{MAX_PAGE_SIZE, Page, PageRequest};

/// The default page size when `first` is omitted.
pub const DEFAULT_PAGE_SIZE: i32 = 50;

pub type Cursor = OpaqueCursor<u64>;

/// Extra fields on every connection.
pub struct Totals {
    total: Option<u64>,
}

#[Object]
impl Totals {
    /// How many objects match, across all pages.
    async fn total_count(&self) -> u64 {
        self.total.unwrap_or_default()
    }
}

pub type Conn<T> = Connection<Cursor, T, Totals, EmptyFields>;

/// Validates `first`/`after` and turns them into a page request.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<PageRequest, ApiError> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if first < 0 || first as u64 > MAX_PAGE_SIZE {
        return Err(ApiError::bad_input(format!(
            "`first` must be between 0 and {MAX_PAGE_SIZE} (got {first})"
        )));
    }
    let offset = match after {
        None => 0,
        Some(c) => {
            Cursor::decode_cursor(&c)
                .map_err(|_| ApiError::bad_input("`after` is not a cursor returned by this API"))?
                .0
                + 1
        }
    };
    Ok(PageRequest {
        offset,
        limit: first as u64,
        want_total: ctx.look_ahead().field("totalCount").exists(),
    })
}

/// Builds the connection for one page, mapping each domain item to its
/// GraphQL type.
pub fn connection<T, U: OutputType>(page: Page<T>, f: impl Fn(T) -> U) -> Conn<U> {
    let has_previous = page.offset > 0;
    let mut conn = Connection::with_additional_fields(
        has_previous,
        page.has_more,
        Totals { total: page.total },
    );
    let start = page.offset;
    conn.edges.extend(
        page.items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(OpaqueCursor(start + i as u64), f(item))),
    );
    conn
}
