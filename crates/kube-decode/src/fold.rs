//! Go's `encoding/json` key folding (pure): two object keys name the same struct field when
//! their folded forms are equal (`foldName` in Go 1.21's `encoding/json/fold.go`, which maps each
//! character to one member of its Unicode simple case-folding orbit), so `k`, `K` and U+212A
//! KELVIN SIGN fold alike, as do `s`, `S` and U+017F LATIN SMALL LETTER LONG S.

/// The folded form of `key`: equal for two keys exactly when Go's `encoding/json` would match
/// them to the same struct field name.
pub fn fold(key: &str) -> String {
    key.chars().map(fold_char).collect()
}

/// Whether `a` and `b` fold alike.
pub fn equal_fold(a: &str, b: &str) -> bool {
    a.chars().map(fold_char).eq(b.chars().map(fold_char))
}

/// One character of [`fold`]: ASCII letters to lower case; any other character to the lower
/// case of its upper case (each taken only where Unicode maps one character to one), which
/// gives one representative per simple case-folding orbit as Go's `unicode.SimpleFold` walks
/// them (`K`/`k`/U+212A, `S`/`s`/U+017F, `µ`/`Μ`/`μ`, the Greek theta and sigma sets, …).
/// U+0130 and U+0131 (dotted capital and dotless small i) fold only to themselves, as in Go's
/// `caseOrbit` table.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if matches!(c, '\u{130}' | '\u{131}') {
        return c;
    }
    let upper = single(c.to_uppercase()).unwrap_or(c);
    single(upper.to_lowercase()).unwrap_or(upper)
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_folding() {
        let same = [
            ("kind", "Kind"),
            ("kind", "KIND"),
            ("kind", "\u{212a}ind"),
            ("Kind", "\u{212a}IND"),
            ("apiVersion", "APIVERSION"),
            ("apiVersion", "apiver\u{17f}ion"),
            ("status", "\u{17f}tatu\u{17f}"),
            ("\u{3c3}", "\u{3a3}"),
            ("\u{3c2}", "\u{3a3}"),
            ("\u{3b8}", "\u{3d1}"),
            ("\u{3b8}", "\u{3f4}"),
            ("\u{e5}", "\u{212b}"),
            ("\u{b5}", "\u{3bc}"),
            ("\u{b5}", "\u{39c}"),
            ("\u{df}", "\u{1e9e}"),
            ("\u{1c4}", "\u{1c5}"),
        ];
        for (a, b) in same {
            assert_eq!(fold(a), fold(b), "{a:?} {b:?}");
            assert!(equal_fold(a, b), "{a:?} {b:?}");
        }
        let different = [
            ("kind", "kinds"),
            ("kind", "k1nd"),
            ("spec", "spe\u{107}"),
            ("i", "\u{131}"),
            ("i", "\u{130}"),
            ("\u{df}", "ss"),
            ("kind", "kind\u{0}"),
        ];
        for (a, b) in different {
            assert_ne!(fold(a), fold(b), "{a:?} {b:?}");
        }
    }
}
