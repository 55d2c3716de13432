//! The node tree of the first YAML document, built from yaml-rust2's parser events the way
//! yaml.v2's `parser` builds it (anchors point at nodes; an alias names its anchored node),
//! with the nesting guard, and in strict mode the refusal of every construct that is not plain
//! data (anchors, aliases, tags, non-scalar keys, a second document).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::{YamlError, MAX_DEPTH};

/// What a node holds; children are indices into [`Doc::nodes`].
#[derive(Debug)]
pub(super) enum Kind {
    Scalar {
        value: String,
        plain: bool,
    },
    Seq(Vec<usize>),
    Map(Vec<(usize, usize)>),
    /// An alias of the anchored node `target`, written `*name`.
    Alias {
        target: usize,
        name: String,
    },
}

#[derive(Debug)]
pub(super) struct Node {
    pub kind: Kind,
    /// The full tag (`tag:yaml.org,2002:int`, `!foo`), if one was written.
    pub tag: Option<String>,
    /// 1-based line of the node.
    pub line: usize,
}

/// The first document of a stream; `root` is `None` for a stream with no document at all.
#[derive(Debug)]
pub(super) struct Doc {
    pub nodes: Vec<Node>,
    pub root: Option<usize>,
}

/// Parse the first document of `src`. With `strict`, the rest of the stream is read too and
/// a second document refused.
pub(super) fn parse(src: &str, strict: bool) -> Result<Doc, YamlError> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        src,
        nodes: Vec::new(),
        anchors: HashMap::new(),
        strict,
        depth: 0,
    };
    b.next()?; // StreamStart
    let root = match b.next()? {
        (Event::DocumentStart, _) => {
            let (ev, mark) = b.next()?;
            let root = b.node(ev, mark)?;
            b.next()?; // DocumentEnd
            if strict {
                if let (Event::DocumentStart, mark) = b.next()? {
                    return Err(YamlError::new(format!(
                        "line {}: more than one YAML document (`---`) in one body",
                        mark.line()
                    )));
                }
            }
            Some(root)
        }
        _ => None,
    };
    Ok(Doc {
        nodes: b.nodes,
        root,
    })
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    src: &'a str,
    nodes: Vec<Node>,
    /// yaml-rust2 anchor id → node (a later anchor of the same name gets a new id).
    anchors: HashMap<usize, usize>,
    strict: bool,
    depth: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser
            .next_token()
            .map_err(|e| syntax_error(self.src, &e))
    }

    fn push(
        &mut self,
        kind: Kind,
        tag: Option<Tag>,
        anchor: usize,
        line: usize,
    ) -> Result<usize, YamlError> {
        let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
        if self.strict {
            if anchor != 0 {
                return Err(refused(line, "anchor (`&name`)"));
            }
            if let Some(t) = &tag {
                return Err(refused(line, &format!("tag `{}`", short(t))));
            }
        }
        self.nodes.push(Node { kind, tag, line });
        let id = self.nodes.len() - 1;
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        Ok(id)
    }

    fn node(&mut self, ev: Event, mark: Marker) -> Result<usize, YamlError> {
        let line = mark.line();
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push(Kind::Scalar { value, plain }, tag, anchor, line)
            }
            Event::Alias(anchor) => {
                let name = alias_name(self.src, mark.index());
                if self.strict {
                    return Err(refused(line, &format!("alias `*{name}`")));
                }
                let Some(&target) = self.anchors.get(&anchor) else {
                    return Err(YamlError::new(format!(
                        "yaml: unknown anchor '{name}' referenced"
                    )));
                };
                self.nodes.push(Node {
                    kind: Kind::Alias { target, name },
                    tag: None,
                    line,
                });
                Ok(self.nodes.len() - 1)
            }
            Event::SequenceStart(anchor, tag) => {
                let id = self.enter(Kind::Seq(Vec::new()), tag, anchor, line)?;
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (ev, mark) => items.push(self.node(ev, mark)?),
                    }
                }
                self.nodes[id].kind = Kind::Seq(items);
                self.depth -= 1;
                Ok(id)
            }
            Event::MappingStart(anchor, tag) => {
                let id = self.enter(Kind::Map(Vec::new()), tag, anchor, line)?;
                let mut pairs = Vec::new();
                loop {
                    let (ev, mark) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    if self.strict && !matches!(ev, Event::Scalar(..)) {
                        return Err(refused(mark.line(), "mapping key that is not a scalar"));
                    }
                    let key = self.node(ev, mark)?;
                    let (ev, mark) = self.next()?;
                    pairs.push((key, self.node(ev, mark)?));
                }
                self.nodes[id].kind = Kind::Map(pairs);
                self.depth -= 1;
                Ok(id)
            }
            other => Err(YamlError::new(format!(
                "yaml: line {line}: unexpected YAML event {other:?}"
            ))),
        }
    }

    fn enter(
        &mut self,
        kind: Kind,
        tag: Option<Tag>,
        anchor: usize,
        line: usize,
    ) -> Result<usize, YamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(line));
        }
        self.push(kind, tag, anchor, line)
    }
}

pub(super) fn too_deep(line: usize) -> YamlError {
    YamlError::new(format!(
        "yaml: line {line}: the document nests deeper than {MAX_DEPTH} levels"
    ))
}

fn refused(line: usize, what: &str) -> YamlError {
    YamlError::new(format!(
        "yaml: line {line}: {what} is not allowed in a request body (only plain YAML data is accepted)"
    ))
}

fn short(tag: &str) -> String {
    match tag.strip_prefix(super::resolve::PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// The anchor name of the alias token at character `index` (`*name`).
fn alias_name(src: &str, index: usize) -> String {
    src.chars()
        .skip(index)
        .skip_while(|c| *c == '*')
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
        .collect()
}

/// A parse error as yaml.v2 words it: `yaml: line N: <libyaml problem>`. libyaml's scanner
/// errors carry the 1-based line; its parser errors (`did not find expected …`) carry the
/// 0-based line, and none at all on the first line.
fn syntax_error(src: &str, e: &ScanError) -> YamlError {
    let info = e.info();
    let parser_problem = [
        (
            "while parsing a block mapping, did not find expected key",
            "did not find expected key",
        ),
        (
            "while parsing a block collection, did not find expected '-' indicator",
            "did not find expected '-' indicator",
        ),
        (
            "while parsing a flow mapping, did not find expected ',' or '}'",
            "did not find expected ',' or '}'",
        ),
        (
            "while parsing a flow sequence, expected ',' or ']'",
            "did not find expected ',' or ']'",
        ),
        (
            "while parsing a node, did not find expected node content",
            "did not find expected node content",
        ),
        (
            "did not find expected <document start>",
            "did not find expected <document start>",
        ),
    ]
    .iter()
    .find(|(ours, _)| *ours == info)
    .map(|(_, go)| *go);
    if info == "while parsing node, found unknown anchor" {
        let name = alias_name(src, e.marker().index());
        return YamlError::new(format!("yaml: unknown anchor '{name}' referenced"));
    }
    let (line, problem) = match parser_problem {
        Some(go) => (e.marker().line().saturating_sub(1), go),
        None => (e.marker().line(), info),
    };
    if line == 0 {
        YamlError::new(format!("yaml: {problem}"))
    } else {
        YamlError::new(format!("yaml: line {line}: {problem}"))
    }
}
