//! Go `encoding/json` and `fmt` behaviour the patch errors expose: the syntax checker's
//! messages (`invalid character 'x' looking for beginning of value`), `UnmarshalTypeError`
//! wording, and `%v` / `%s` renderings of decoded values (`map[$patch:explode name:only]`).

use serde_json::Value;

/// Go's maximum nesting depth for JSON documents.
const MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    /// Inside `true`/`false`/`null`: the literal and how many bytes were matched.
    Literal(&'static str, usize),
}

/// A port of Go's `encoding/json` scanner, used only to reproduce its error messages.
struct Scanner {
    state: State,
    stack: Vec<Parse>,
    end_top: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: how a byte is shown inside `invalid character …`.
fn quote_char(c: u8) -> String {
    let inner = match c {
        b'\'' => "\\'".to_string(),
        b'"' => "\"".to_string(),
        b'\\' => "\\\\".to_string(),
        0x07 => "\\a".to_string(),
        0x08 => "\\b".to_string(),
        0x0c => "\\f".to_string(),
        b'\n' => "\\n".to_string(),
        b'\r' => "\\r".to_string(),
        b'\t' => "\\t".to_string(),
        0x0b => "\\v".to_string(),
        0x00..=0x1f | 0x7f => format!("\\x{c:02x}"),
        0x80..=0xa0 | 0xad => format!("\\u{c:04x}"),
        _ => char::from(c).to_string(),
    };
    format!("'{inner}'")
}

fn syntax(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

impl Scanner {
    fn push(&mut self, c: u8, p: Parse, next: State) -> Result<(), String> {
        self.stack.push(p);
        self.state = next;
        if self.stack.len() > MAX_DEPTH {
            return Err(syntax(c, "exceeded max depth"));
        }
        Ok(())
    }

    fn pop(&mut self) {
        self.stack.pop();
        if self.stack.is_empty() {
            self.state = State::EndTop;
            self.end_top = true;
        } else {
            self.state = State::EndValue;
        }
    }

    fn begin_value(&mut self, c: u8) -> Result<(), String> {
        self.state = match c {
            _ if is_space(c) => return Ok(()),
            b'{' => return self.push(c, Parse::ObjectKey, State::BeginStringOrEmpty),
            b'[' => return self.push(c, Parse::ArrayValue, State::BeginValueOrEmpty),
            b'"' => State::InString,
            b'-' => State::Neg,
            b'0' => State::Zero,
            b'1'..=b'9' => State::One,
            b't' => State::Literal("true", 1),
            b'f' => State::Literal("false", 1),
            b'n' => State::Literal("null", 1),
            _ => return Err(syntax(c, "looking for beginning of value")),
        };
        Ok(())
    }

    fn end_value(&mut self, c: u8) -> Result<(), String> {
        let Some(&top) = self.stack.last() else {
            self.state = State::EndTop;
            self.end_top = true;
            return self.step(c);
        };
        if is_space(c) {
            self.state = State::EndValue;
            return Ok(());
        }
        match (top, c) {
            (Parse::ObjectKey, b':') => {
                *self.stack.last_mut().expect("stack is non-empty") = Parse::ObjectValue;
                self.state = State::BeginValue;
            }
            (Parse::ObjectKey, _) => return Err(syntax(c, "after object key")),
            (Parse::ObjectValue, b',') => {
                *self.stack.last_mut().expect("stack is non-empty") = Parse::ObjectKey;
                self.state = State::BeginString;
            }
            (Parse::ObjectValue, b'}') | (Parse::ArrayValue, b']') => self.pop(),
            (Parse::ObjectValue, _) => return Err(syntax(c, "after object key:value pair")),
            (Parse::ArrayValue, b',') => self.state = State::BeginValue,
            (Parse::ArrayValue, _) => return Err(syntax(c, "after array element")),
        }
        Ok(())
    }

    fn number(&mut self, c: u8) -> Result<(), String> {
        let digit = c.is_ascii_digit();
        match self.state {
            State::Neg if c == b'0' => self.state = State::Zero,
            State::Neg if digit => self.state = State::One,
            State::Neg => return Err(syntax(c, "in numeric literal")),
            State::One if digit => {}
            State::One | State::Zero if c == b'.' => self.state = State::Dot,
            State::One | State::Zero | State::Dot0 if matches!(c, b'e' | b'E') => {
                self.state = State::E
            }
            State::Dot if digit => self.state = State::Dot0,
            State::Dot => return Err(syntax(c, "after decimal point in numeric literal")),
            State::Dot0 | State::E0 if digit => {}
            State::E if matches!(c, b'+' | b'-') => self.state = State::ESign,
            State::E | State::ESign if digit => self.state = State::E0,
            State::E | State::ESign => return Err(syntax(c, "in exponent of numeric literal")),
            _ => return self.end_value(c),
        }
        Ok(())
    }

    fn string(&mut self, c: u8) -> Result<(), String> {
        match self.state {
            State::InString => match c {
                b'"' => self.state = State::EndValue,
                b'\\' => self.state = State::InStringEsc,
                0x00..=0x1f => return Err(syntax(c, "in string literal")),
                _ => {}
            },
            State::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.state = State::InString
                }
                b'u' => self.state = State::InStringEscU(0),
                _ => return Err(syntax(c, "in string escape code")),
            },
            State::InStringEscU(n) if c.is_ascii_hexdigit() => {
                self.state = if n == 3 {
                    State::InString
                } else {
                    State::InStringEscU(n + 1)
                };
            }
            _ => return Err(syntax(c, "in \\u hexadecimal character escape")),
        }
        Ok(())
    }

    fn step(&mut self, c: u8) -> Result<(), String> {
        match self.state {
            State::BeginValue => self.begin_value(c),
            State::BeginValueOrEmpty if is_space(c) => Ok(()),
            State::BeginValueOrEmpty if c == b']' => self.end_value(c),
            State::BeginValueOrEmpty => self.begin_value(c),
            State::BeginStringOrEmpty | State::BeginString if is_space(c) => Ok(()),
            State::BeginStringOrEmpty if c == b'}' => {
                *self.stack.last_mut().expect("inside an object") = Parse::ObjectValue;
                self.end_value(c)
            }
            State::BeginStringOrEmpty | State::BeginString if c == b'"' => {
                self.state = State::InString;
                Ok(())
            }
            State::BeginStringOrEmpty | State::BeginString => {
                Err(syntax(c, "looking for beginning of object key string"))
            }
            State::EndValue => self.end_value(c),
            State::EndTop if is_space(c) => Ok(()),
            State::EndTop => Err(syntax(c, "after top-level value")),
            State::InString | State::InStringEsc | State::InStringEscU(_) => self.string(c),
            State::Literal(word, n) => self.literal(c, word, n),
            _ => self.number(c),
        }
    }

    fn literal(&mut self, c: u8, word: &'static str, n: usize) -> Result<(), String> {
        let want = word.as_bytes()[n];
        if c != want {
            let ctx = format!("in literal {word} (expecting {})", quote_char(want));
            return Err(syntax(c, &ctx));
        }
        self.state = if n + 1 == word.len() {
            State::EndValue
        } else {
            State::Literal(word, n + 1)
        };
        Ok(())
    }
}

/// Go's `checkValid`: `Err` carries the `SyntaxError` message Go would report.
pub(crate) fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut s = Scanner {
        state: State::BeginValue,
        stack: Vec::new(),
        end_top: false,
    };
    for &c in data {
        s.step(c)?;
    }
    if s.end_top {
        return Ok(());
    }
    s.step(b' ')?;
    if s.end_top {
        Ok(())
    } else {
        Err("unexpected end of JSON input".to_string())
    }
}

/// Decode a body as Go would: syntax errors carry Go's message.
pub(crate) fn decode(data: &[u8]) -> Result<Value, String> {
    check_valid(data)?;
    match serde_json::from_slice(data) {
        Ok(v) => Ok(v),
        // Go accepts invalid UTF-8 (replacing it); serde does not.
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(data)).map_err(|e| e.to_string()),
    }
}

/// The JSON kind Go's `UnmarshalTypeError` names (`object`, `array`, `string`, `number`, `bool`).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

/// `json: cannot unmarshal <kind> into Go value of type <go_type>`.
pub(crate) fn type_error(v: &Value, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {go_type}",
        json_kind(v)
    )
}

/// The Go dynamic type of a decoded value, as `reflect.TypeOf(v)` prints with `%s`.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
fn go_float(f: f64) -> String {
    let exp_form = format!("{f:e}");
    let (mantissa, exp) = exp_form.split_once('e').unwrap_or((&exp_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) || !f.is_finite() {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

fn go_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() => go_float(f),
        // Go decodes integers beyond int64 as float64.
        Some(f) if n.is_u64() && !n.is_i64() => go_float(f),
        _ => n.to_string(),
    }
}

/// Go's `fmt` rendering of a decoded JSON value with `%v` (`s == false`) or `%s`.
fn go_fmt_verb(v: &Value, s: bool) -> String {
    match v {
        Value::Null if s => "%!s(<nil>)".to_string(),
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) if s => format!("%!s(bool={b})"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if s => format!("%!s({}={})", go_type(v), go_number(n)),
        Value::Number(n) => go_number(n),
        Value::String(x) => x.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| go_fmt_verb(x, s)).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_fmt_verb(&m[k.as_str()], s)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// `fmt.Sprintf("%v", v)` of a decoded JSON value.
pub(crate) fn go_v(v: &Value) -> String {
    go_fmt_verb(v, false)
}

/// `fmt.Sprintf("%s", v)` of a decoded JSON value.
pub(crate) fn go_s(v: &Value) -> String {
    go_fmt_verb(v, true)
}
