//! Offset paging shared by the list functions of the domain modules.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QuerySelect, Select};

/// The largest page any list returns.
pub const MAX_PAGE_SIZE: u64 = 500;

/// Which slice of a list to read, and whether to count the whole list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
    pub want_total: bool,
}

/// One page of results. `has_more` is exact: one extra row is read to know it.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub offset: u64,
    pub has_more: bool,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            offset: self.offset,
            has_more: self.has_more,
            total: self.total,
        }
    }
}

/// Reads one page of `select` (which must already be ordered).
///
/// # Errors
/// Database errors only.
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    page: PageRequest,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total = if page.want_total {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let limit = page.limit.min(MAX_PAGE_SIZE);
    let mut items = select.offset(page.offset).limit(limit + 1).all(db).await?;
    let has_more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    Ok(Page {
        items,
        offset: page.offset,
        has_more,
        total,
    })
}

/// A case-insensitive "contains" pattern for SQL `LIKE … ESCAPE '\'`.
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Disk 100%_full"), "%disk 100\\%\\_full%");
        assert_eq!(contains_pattern("a\\b"), "%a\\\\b%");
    }
}
