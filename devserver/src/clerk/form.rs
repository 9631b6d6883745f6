//! Lenient parsing of what clerk-js sends: `application/x-www-form-urlencoded` bodies and query
//! strings, and the `Cookie` header. Malformed input never fails: bad escapes are kept literally
//! and invalid UTF-8 is replaced.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};

/// Decodes `a=1&b=x%20y+z` into a map; a repeated key keeps its first value, a key without `=`
/// maps to the empty string, empty keys are dropped.
pub fn parse_urlencoded(input: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in input.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = decode(key);
        if key.is_empty() {
            continue;
        }
        out.entry(key).or_insert_with(|| decode(value));
    }
    out
}

/// Percent-decodes one component (`+` is a space).
pub fn decode(input: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => bytes.push(b' '),
            b'%' => match (input.get(i + 1).and_then(hex), input.get(i + 2).and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    bytes.push(hi << 4 | lo);
                    i += 2;
                }
                _ => bytes.push(b'%'),
            },
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// The value of cookie `name` in the request's `Cookie` header(s), if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn decodes_forms_leniently() {
        let form = parse_urlencoded(b"identifier=alice%40example.com&password=a+b%2Bc&x&=y&x=2");
        assert_eq!(form["identifier"], "alice@example.com");
        assert_eq!(form["password"], "a b+c");
        assert_eq!(form["x"], "");
        assert_eq!(form.len(), 3);
        // Broken escapes and bytes that are not UTF-8 do not fail.
        let form = parse_urlencoded(b"a=%zz%4&b=%ff%fe&c=\xff");
        assert_eq!(form["a"], "%zz%4");
        assert_eq!(form["b"], "\u{fffd}\u{fffd}");
        assert_eq!(form["c"], "\u{fffd}");
        assert!(parse_urlencoded(b"").is_empty());
        assert!(parse_urlencoded(b"&&&").is_empty());
    }

    #[test]
    fn finds_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; __session=x.y.z"));
        headers.append(header::COOKIE, HeaderValue::from_static("mine=\"tok\""));
        assert_eq!(cookie(&headers, "__session").as_deref(), Some("x.y.z"));
        assert_eq!(cookie(&headers, "mine").as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "none"), None);
    }
}
