//! The pages' strings in English and Japanese. A page asks for a string by key; the
//! language comes from the `lang` cookie (set by the switch link), else from
//! Accept-Language, else English.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::header::{HeaderMap, ACCEPT_LANGUAGE};

use super::security::read_cookie;

/// The cookie that keeps the chosen language.
pub(crate) const LANG_COOKIE: &str = "mdmkit_lang";

/// One language's strings.
#[derive(Debug)]
pub(crate) struct Catalogue {
    /// `en` or `ja`.
    pub code: &'static str,
    strings: HashMap<&'static str, &'static str>,
}

impl Catalogue {
    fn new(code: &'static str, entries: &[(&'static str, &'static str)]) -> Self {
        Self {
            code,
            strings: entries.iter().copied().collect(),
        }
    }

    /// A string; an unknown key shows as itself (a test keeps every key used known).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings.get(key).copied().unwrap_or(key)
    }

    /// The other language (for the switch link).
    pub fn other(&self) -> &'static Catalogue {
        if self.code == "ja" {
            &EN
        } else {
            &JA
        }
    }
}

/// English.
pub(crate) static EN: LazyLock<Catalogue> = LazyLock::new(|| Catalogue::new("en", EN_STRINGS));
/// Japanese.
pub(crate) static JA: LazyLock<Catalogue> = LazyLock::new(|| Catalogue::new("ja", JA_STRINGS));

/// A catalogue by code (`ja`, else English).
pub(crate) fn by_code(code: &str) -> &'static Catalogue {
    if code == "ja" {
        &JA
    } else {
        &EN
    }
}

/// The language of a request: the cookie, else the first of Accept-Language's ranges (by
/// quality) that is Japanese or English, else English.
pub(crate) fn choose(headers: &HeaderMap) -> &'static Catalogue {
    if let Some(code) = read_cookie(headers, LANG_COOKIE) {
        return by_code(&code);
    }
    let Some(accept) = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
    else {
        return &EN;
    };
    let mut ranges: Vec<(f32, usize, String)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(index, part)| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim().to_ascii_lowercase();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((quality, index, tag))
        })
        .filter(|(quality, _, _)| *quality > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, tag) in ranges {
        let primary = tag.split('-').next().unwrap_or_default();
        if primary == "ja" {
            return &JA;
        }
        if primary == "en" {
            return &EN;
        }
    }
    &EN
}

include!("strings.rs");

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let en: BTreeSet<_> = EN_STRINGS.iter().map(|(k, _)| *k).collect();
        let ja: BTreeSet<_> = JA_STRINGS.iter().map(|(k, _)| *k).collect();
        assert_eq!(en.len(), EN_STRINGS.len(), "a key twice in English");
        assert_eq!(ja.len(), JA_STRINGS.len(), "a key twice in Japanese");
        let only_en: Vec<_> = en.difference(&ja).collect();
        let only_ja: Vec<_> = ja.difference(&en).collect();
        assert!(only_en.is_empty(), "not translated: {only_en:?}");
        assert!(only_ja.is_empty(), "not in English: {only_ja:?}");
        for (key, text) in EN_STRINGS.iter().chain(JA_STRINGS) {
            assert!(!text.trim().is_empty(), "{key} is empty");
        }
    }

    /// Every key a template or handler asks for is in the catalogues.
    #[test]
    fn every_key_used_is_known() {
        let mut sources = Vec::new();
        for dir in [
            "templates",
            "templates/portal",
            "templates/console",
            "src/pages",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(path).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let mut checked = 0;
        for (path, text) in sources {
            for marker in [".t(\"", ".tr(\""] {
                for piece in text.split(marker).skip(1) {
                    let key = piece.split('"').next().unwrap();
                    if key.is_empty() || key.contains(' ') {
                        continue;
                    }
                    assert!(
                        EN.strings.contains_key(key),
                        "{}: unknown string key {key}",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "only {checked} keys found");
    }

    #[test]
    fn language_from_cookie_then_accept_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(choose(&headers).code, "en");
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=1, ja-JP;q=0.8, en;q=0.5"),
        );
        assert_eq!(choose(&headers).code, "ja");
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-GB, ja;q=0.9"));
        assert_eq!(choose(&headers).code, "en");
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("mdmkit_lang=ja"),
        );
        assert_eq!(choose(&headers).code, "ja");
    }
}
