"""Python source as the shape of its code: tokens with names and literal values normalised.

`tokenize` reads each cell (nothing is executed). Comments, whitespace, the `;` between statements
and statements of one token that do nothing (`None`, `...`, `pass`) are dropped; a name the
student chose becomes `N`, a number `NUM`, a string `STR`. Keywords, operators, attribute names
(`model.fit`), keyword arguments (`activation=`), builtins, module paths and the names imports
bind keep their text, a name an import binds under an alias the imported one's (`import
tensorflow as T`: `T` reads `tensorflow`, as `tf` does): renaming a variable or an alias changes
none of them, so `tf.keras.layers.Conv2D(32, 3)` reads `tensorflow . keras . layers . Conv2D (
NUM , NUM )`. Names are read as Python reads them, in NFKC (`ｍodel.ｆit` is `model.fit`). Each
token keeps where it came from, for highlighting.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

NAME, NUMBER, STRING = "N", "NUM", "STR"
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+: an f-string is several tokens
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
_MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell escapes are not Python
_INLINE_CODE = re.compile(r"`([^`\n]{3,200})`")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    """One significant token: its normalised text, its own text, and where it is in its cell."""

    norm: str
    text: str  # as Python reads it (a name in NFKC)
    cell: int  # 0-based among the code cells
    line: int  # 1-based within the cell
    col: int
    end_line: int
    end_col: int


def _raw_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """The tokens of `source`; a cell that tokenize cannot read whole is read line by line, each
    line as far as it goes (an unclosed string or a bad dedent loses only its own line). No token
    keeps its `line`: from Python 3.12 on each token's is a copy of its own, and 100,000 tokens on
    one line of 200,000 characters would hold 20 GB. Any error of tokenize's is the code's: on 3.12
    and 3.13 an indented line before a NUL makes it raise SystemError."""
    try:
        yield from [tok._replace(line="") for tok in tokenize.generate_tokens(io.StringIO(source).readline)]
        return
    except Exception:  # noqa: BLE001 - hostile code: TokenError, SyntaxError, ValueError, and SystemError from 3.12 on
        pass
    for number, line in enumerate(source.split("\n"), start=1):
        try:
            for tok in tokenize.generate_tokens(io.StringIO(line.strip()).readline):
                offset = len(line) - len(line.lstrip())
                yield tok._replace(start=(number, tok.start[1] + offset), end=(number, tok.end[1] + offset), line="")
        except Exception:  # noqa: BLE001 - as above
            continue


def _significant(source: str) -> list[tokenize.TokenInfo]:
    """Tokens that carry meaning: no comments, layout or stray spaces; an f-string as one token."""
    kept: list[tokenize.TokenInfo] = []
    fstring: tokenize.TokenInfo | None = None  # the start of the f-string being read
    depth = 0  # f-strings open (nested ones in its replacement fields)
    for tok in _raw_tokens(source):
        if tok.type == _FSTRING_START or fstring:
            fstring = fstring or tok
            depth += (tok.type == _FSTRING_START) - (tok.type == _FSTRING_END)
            if depth == 0:
                kept.append(tokenize.TokenInfo(tokenize.STRING, "f''", fstring.start, tok.end, ""))
                fstring = None
            continue
        if tok.type in _DROPPED or (tok.type == tokenize.ERRORTOKEN and not tok.string.strip()):
            continue
        kept.append(tok)
    return kept


def _statements(toks: Sequence[tokenize.TokenInfo]) -> Iterator[tuple[int, int]]:
    """(start, end) indices of each statement: a new one starts on a new line outside brackets, or
    after a `;` (which belongs to neither: `a = 1; b = 2` reads as the two lines it stands for)."""
    depth, start = 0, 0
    for i, tok in enumerate(toks):
        if i > start and toks[i - 1].end[0] < tok.start[0] and depth == 0:
            yield start, i
            start = i
        if tok.type == tokenize.OP and tok.string == ";" and depth == 0:
            if i > start:
                yield start, i
            start = i + 1
        elif tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(0, depth - 1)
    if start < len(toks):
        yield start, len(toks)


Lexed = list[tokenize.TokenInfo]


def lex(source: str) -> Lexed:
    """The significant tokens of one cell, IPython magics and shell escapes left out."""
    return _significant("\n".join("" if _MAGIC.match(line) else line for line in source.split("\n")))


def _name(tok: tokenize.TokenInfo) -> str:
    """A token's text as Python reads it: a name in NFKC (`ｆit` is `fit`), anything else as it is."""
    return unicodedata.normalize("NFKC", tok.string) if tok.type == tokenize.NAME else tok.string


def imported_names(cells: Sequence[Lexed]) -> dict[str, str]:
    """The names import statements bind, each with the name of what it binds, whatever the alias
    (`import numpy as np`: np → numpy; `from keras import layers as L`: L → layers; `import os.path`: os → os)."""
    bound: dict[str, str] = {}
    for toks in cells:
        for start, end in _statements(toks):
            words = [_name(t) for t in toks[start:end] if t.string not in ("(", ")")]
            if not words or words[0] not in ("import", "from"):
                continue
            names = words[words.index("import") + 1:] if "import" in words else []
            for item in " ".join(names).split(","):
                parts = item.split()
                if len(parts) >= 3 and parts[-2] == "as":
                    bound.setdefault(parts[-1], parts[-3].split(".")[-1])
                elif parts:
                    bound.setdefault(parts[0].split(".")[0], parts[0].split(".")[0])
    return bound


def _no_op(tok: tokenize.TokenInfo) -> bool:
    """Whether a statement of this one token does nothing (`None`, `0`, `...`, a docstring, `pass`, a
    bare name): statements that cost nothing to put between every line of a copy."""
    return tok.type in (tokenize.NUMBER, tokenize.STRING) or tok.string == "..." or (
        tok.type == tokenize.NAME and tok.string not in ("break", "continue", "return", "raise", "yield", "await"))


def normalise_cell(toks: Lexed, cell: int = 0, imported: Mapping[str, str] | None = None) -> list[Token]:
    """One cell's tokens, normalised (see the module's docstring)."""
    imported = imported or {}
    out: list[Token] = []
    for start, end in _statements(toks):
        if end - start == 1 and _no_op(toks[start]):
            continue
        in_import = toks[start].string in ("import", "from")
        in_def = toks[start].string in ("def", "async")  # its parameters' names are the student's, defaults or not
        depth = 0
        for i in range(start, end):
            tok = toks[i]
            text = _name(tok)
            if tok.type == tokenize.OP and text in "([{":
                depth += 1
            elif tok.type == tokenize.OP and text in ")]}":
                depth = max(0, depth - 1)
            norm = text
            if tok.type == tokenize.NUMBER:
                norm = NUMBER
            elif tok.type == tokenize.STRING:
                norm = STRING
            elif tok.type == tokenize.NAME and not keyword.iskeyword(text):
                before = toks[i - 1].string if i > start else ""
                after = toks[i + 1].string if i + 1 < end else ""
                keyword_argument = depth > 0 and after == "=" and before in ("(", ",") and not in_def
                if text in imported and before != "." and not keyword_argument and (not in_import or before == "as"):
                    norm = imported[text]  # the alias an import binds reads as what it binds
                elif not (before == "." or keyword_argument or in_import or text in _BUILTINS):
                    norm = NAME
            out.append(Token(norm, text, cell, tok.start[0], tok.start[1], tok.end[0], tok.end[1]))
    return out


def normalise(cells: Sequence[str], imported: Mapping[str, str] | None = None) -> list[Token]:
    """The normalised tokens of every code cell, in order (names bound by an import in any cell kept;
    `imported`: the names to keep, when the cells are read apart from the code that imports them)."""
    lexed = [lex(source) for source in cells]
    names = imported_names(lexed) if imported is None else imported
    return [tok for index, toks in enumerate(lexed) for tok in normalise_cell(toks, index, names)]


def line_keys(tokens: Sequence[Token]) -> dict[tuple[int, int], tuple[str, ...]]:
    """(cell, line) → the line's own token texts: a line's identity whatever its spacing and comments."""
    keys: dict[tuple[int, int], list[str]] = {}
    for tok in tokens:
        keys.setdefault((tok.cell, tok.line), []).append(tok.text)
    return {where: tuple(texts) for where, texts in keys.items()}


def markdown_code(markdown: str) -> list[str]:
    """Code a skeleton's text gives away: fenced blocks, and inline spans that look like code
    (`self.model.stop_training = True`), each a source of its own."""
    fenced = [m.group(1) for m in _FENCE.finditer(markdown)]
    inline = [m.group(1) for m in _INLINE_CODE.finditer(_FENCE.sub("", markdown)) if re.search(r"[=(.\[]", m.group(1))]
    return fenced + inline
