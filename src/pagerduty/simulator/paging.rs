//! PagerDuty's offset pagination: `limit` at most 100, `offset + limit` at
//! most 10,000, `more` and `total`.

use super::gate::{Params, error};
use super::*;

/// Applies PagerDuty's offset pagination to a full list.
pub(super) fn paginate<'w>(
    params: &Params,
    wrapper: &'w str,
    items: Vec<Value>,
) -> Result<Page<'w, Value>, Response> {
    paginate_with(params, wrapper, items, |v| v)
}

/// One page of an offset-paginated list, serialised as PagerDuty sends it:
/// the items under their wrapper key, `limit`, `offset`, `more` and `total`
/// (null unless asked for with `total=true`).
pub(super) struct Page<'w, R> {
    pub(super) wrapper: &'w str,
    pub(super) items: Vec<R>,
    pub(super) limit: u64,
    pub(super) offset: u64,
    pub(super) more: bool,
    pub(super) total: Option<u64>,
}

impl<R: serde::Serialize> serde::Serialize for Page<'_, R> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry(self.wrapper, &self.items)?;
        map.serialize_entry("limit", &self.limit)?;
        map.serialize_entry("offset", &self.offset)?;
        map.serialize_entry("more", &self.more)?;
        map.serialize_entry("total", &self.total)?;
        map.end()
    }
}

/// Offset pagination that renders only the requested page: the filtered list
/// holds references, so a page of a 50,000-incident account costs a page.
pub(super) fn paginate_with<'w, T, R>(
    params: &Params,
    wrapper: &'w str,
    items: Vec<T>,
    render: impl Fn(T) -> R,
) -> Result<Page<'w, R>, Response> {
    let limit = params
        .get("limit")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let offset = params
        .get("offset")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if offset + limit > 10_000 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            2001,
            "Offset must be less than 10000; narrow the query (since/until)",
        ));
    }
    let total = items.len() as u64;
    let page: Vec<R> = items
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(render)
        .collect();
    let want_total = params.get("total") == Some("true");
    Ok(Page {
        wrapper,
        items: page,
        limit,
        offset,
        more: offset + limit < total,
        total: want_total.then_some(total),
    })
}
