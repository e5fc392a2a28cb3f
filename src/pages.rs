//! The few HTML pages the server renders itself: login outcomes and
//! refusals, the logout form and the demo identity provider. They are maud
//! templates, so every value placed in one is escaped by the engine.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The narrow, plain style every page shares.
const STYLE: &str = "body{font:15px system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}\
ul{list-style:none;padding:0}\
button{font:inherit;cursor:pointer}";

/// A whole page: `title` in the tab, `body` inside.
pub fn page(title: &str, body: &Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                meta name="viewport" content="width=device-width,initial-scale=1";
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let hostile = r#"<script>alert("x")</script>&'"#;
        let out = page(hostile, &html! { p title=(hostile) { (hostile) } });
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'"),
            "{out}"
        );
        assert!(
            out.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{out}"
        );
    }
}
