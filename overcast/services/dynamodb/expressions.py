"""DynamoDB's expression languages: a tokenizer and recursive-descent parsers into small ASTs, and
their evaluation against items.

    ConditionExpression / FilterExpression / KeyConditionExpression  -> parse_condition
    UpdateExpression                                                 -> parse_update
    ProjectionExpression                                             -> parse_projection

`Parser` resolves `#name` and `:value` placeholders while parsing and records which ones were
used, so a request can report unused or undefined ones with DynamoDB's messages. Errors are
ValidationExceptions worded as DynamoDB words them ("Invalid UpdateExpression: Syntax error;
token: ..., near: ...").
"""

from __future__ import annotations

from decimal import Context, Decimal

from overcast.aws.errors import AwsError
from overcast.services.dynamodb.reserved import RESERVED_WORDS
from overcast.services.dynamodb.values import (
    check_value,
    normalize_number,
    scalar_of,
    show_value,
    type_of,
    values_equal,
)

_WIDE = Context(prec=200, Emax=999999, Emin=-999999)

# DynamoDB's documented limits on an expression: its string, measured in UTF-8 bytes, and the
# operators and functions in it. Together they also bound how deep a parsed expression can be.
MAX_EXPRESSION_BYTES = 4096
MAX_OPERATORS = 300


class ExpressionError(AwsError):
    def __init__(self, message: str):
        super().__init__("ValidationException", message, 400)


# -- tokens ------------------------------------------------------------------------------------

EOF, NAME, NAMEREF, VALUEREF, INDEX, PUNCT = "EOF", "NAME", "NAMEREF", "VALUEREF", "INDEX", "PUNCT"
_PUNCT2 = ("<>", "<=", ">=")
_PUNCT1 = "()[],.=<>+-"
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
_DIGITS = frozenset("0123456789")


class Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int):
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end

    def is_word(self, word: str) -> bool:
        return self.kind == NAME and self.text.upper() == word

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text}"


def tokenize(text: str) -> list[Token]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c in _WORD_START:
            i += 1
            while i < n and text[i] in _WORD:
                i += 1
            tokens.append(Token(NAME, text[start:i], start, i))
        elif c in "#:":
            i += 1
            while i < n and text[i] in _WORD:
                i += 1
            kind = (NAMEREF if c == "#" else VALUEREF) if i > start + 1 else "BAD"
            tokens.append(Token(kind, text[start:i], start, i))
        elif c in _DIGITS:
            i += 1
            while i < n and text[i] in _DIGITS:
                i += 1
            tokens.append(Token(INDEX, text[start:i], start, i))
        elif text[i:i + 2] in _PUNCT2:
            i += 2
            tokens.append(Token(PUNCT, text[start:i], start, i))
        elif c in _PUNCT1:
            i += 1
            tokens.append(Token(PUNCT, c, start, i))
        else:
            i += 1
            tokens.append(Token("BAD", c, start, i))
    tokens.append(Token(EOF, "<EOF>", n, n))
    return tokens


# -- AST ---------------------------------------------------------------------------------------


class Path:
    __slots__ = ("elements",)

    def __init__(self, elements: tuple):
        self.elements = elements  # str (attribute name) or int (list index)

    def show(self) -> str:
        return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in self.elements) + "]"

    def __repr__(self) -> str:
        return f"Path{self.elements}"


class Value:
    __slots__ = ("value", "ref")

    def __init__(self, value: dict, ref: str):
        self.value = value
        self.ref = ref


class Size:
    __slots__ = ("path",)

    def __init__(self, path: Path):
        self.path = path


class Node:
    __slots__ = ("op", "args")

    def __init__(self, op: str, *args):
        self.op = op
        self.args = args

    def __repr__(self) -> str:
        return f"{self.op}{self.args}"


# -- parser ------------------------------------------------------------------------------------

_COMPARATORS = frozenset(("=", "<>", "<", "<=", ">", ">="))
_BOOL_FUNCTIONS = frozenset(("attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"))
_FUNCTIONS = _BOOL_FUNCTIONS | {"size", "if_not_exists", "list_append"}
_TYPE_NAMES = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "SS": "STRING_SET", "NS": "NUMBER_SET",
               "BS": "BINARY_SET", "M": "MAP", "L": "LIST", "NULL": "NULL", "BOOL": "BOOLEAN"}


class Parser:
    """Parses the expressions of one request, sharing its ExpressionAttributeNames/Values."""

    def __init__(self, names: dict | None, values: dict | None):
        self.names = names or {}
        self.values = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self._checked_values: dict[str, dict] = {}
        self.kind = ""
        self.tokens: list[Token] = []
        self.pos = 0
        self.operators = 0

    # -- plumbing ----------------------------------------------------------------------------

    def _start(self, kind: str, text: str) -> None:
        self.kind = kind
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"Invalid {kind}: The expression can not be empty;")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_EXPRESSION_BYTES:
            raise ExpressionError(f"Invalid {kind}: Expression size has exceeded the maximum allowed size; "
                                  f"expression size: {size}")
        self.tokens = tokenize(text)
        self.text = text
        self.pos = 0
        self.operators = 0

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"Invalid {self.kind}: {message}")

    def syntax_error(self, token: Token | None = None) -> ExpressionError:
        if token is None:
            token = self.tokens[self.pos]
        index = self.tokens.index(token)
        first = self.tokens[index - 1] if index > 0 else token
        last = self.tokens[index + 1] if index + 1 < len(self.tokens) else token
        near = self.text[first.start:max(last.end, token.end)]
        return self.error(f'Syntax error; token: "{token.text}", near: "{near}"')

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind == "BAD":
            raise self.syntax_error(token)
        self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.peek
        if token.kind != PUNCT or token.text != text:
            raise self.syntax_error(token)
        return self.next()

    def at(self, text: str) -> bool:
        token = self.peek
        return token.kind == PUNCT and token.text == text

    def at_word(self, word: str) -> bool:
        return self.peek.is_word(word)

    def end(self) -> None:
        if self.peek.kind != EOF:
            raise self.syntax_error()

    # -- operands ----------------------------------------------------------------------------

    def name_element(self, token: Token) -> str:
        if token.kind == NAMEREF:
            if token.text not in self.names:
                raise self.error(f"An expression attribute name used in the document path is not defined; "
                                 f"attribute name: {token.text}")
            self.used_names.add(token.text)
            return self.names[token.text]
        if token.kind == NAME:
            if token.text.upper() in RESERVED_WORDS:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
            return token.text
        raise self.syntax_error(token)

    def path(self) -> Path:
        elements = [self.name_element(self.next())]
        while True:
            if self.at("."):
                self.next()
                elements.append(self.name_element(self.next()))
            elif self.at("["):
                self.next()
                token = self.next()
                if token.kind != INDEX:
                    raise self.syntax_error(token)
                self.expect("]")
                elements.append(int(token.text))
            else:
                return Path(tuple(elements))

    def value(self, token: Token) -> Value:
        ref = token.text
        if ref not in self.values:
            raise self.error(f"An expression attribute value used in expression is not defined; attribute value: {ref}")
        self.used_values.add(ref)
        checked = self._checked_values.get(ref)
        if checked is None:
            try:
                checked = self._checked_values[ref] = check_value(self.values[ref])
            except AwsError as error:
                if error.code != "ValidationException":
                    raise
                raise ExpressionError(f"ExpressionAttributeValues contains invalid value: {error.message} "
                                      f"for key {ref}") from None
        return Value(checked, ref)

    def function_args(self) -> list:
        self.expect("(")
        args = [self.operand(allow_functions=True)]
        while self.at(","):
            self.next()
            args.append(self.operand(allow_functions=True))
        self.expect(")")
        return args

    def operand(self, allow_functions: bool = False):
        token = self.peek
        if token.kind == VALUEREF:
            self.next()
            return self.value(token)
        if token.kind == NAME and self.tokens[self.pos + 1].kind == PUNCT and self.tokens[self.pos + 1].text == "(":
            name = token.text
            if name not in _FUNCTIONS:
                raise self.error(f"Invalid function name; function: {name}")
            self.next()
            self.count_operator()
            if name == "size":
                args = self.function_args()
                if len(args) != 1:
                    raise self.error(f"Incorrect number of operands for operator or function; operator or function: "
                                     f"size, number of operands: {len(args)}")
                if not isinstance(args[0], Path):
                    raise self.error(self._operand_type_message("size", args[0]))
                return Size(args[0])
            if not allow_functions or name in _BOOL_FUNCTIONS or self.kind != "UpdateExpression":
                raise self.error(f"The function is not allowed to be used this way in an expression; function: {name}")
            return self.update_function(name)
        if token.kind in (NAME, NAMEREF):
            return self.path()
        raise self.syntax_error(token)

    def _operand_type_message(self, function: str, operand) -> str:
        kind = type_of(operand.value) if isinstance(operand, Value) else "M"
        return f"Incorrect operand type for operator or function; operator or function: {function}, operand type: {kind}"

    # -- conditions --------------------------------------------------------------------------

    def parse_condition(self, text: str, kind: str = "ConditionExpression") -> Node:
        self._start(kind, text)
        node = self.boolean()
        self.end()
        return node

    def count_operator(self) -> None:
        """DynamoDB allows 300 operators and functions in an expression; it stops at the 301st."""
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise self.error(f"The expression contains too many operators; operator count: {self.operators}")

    def boolean(self) -> Node:
        """Conditions joined by NOT, AND, OR and parentheses (precedence NOT > AND > OR).

        An operator-precedence loop with explicit stacks rather than recursion: however deep the
        parentheses, parsing uses no stack, and the 300-operator limit bounds the tree's depth."""
        operands: list = []
        pending: list = []  # "NOT", "AND", "OR", or the token index of an open parenthesis
        closed_at: dict[int, int] = {}  # open-parenthesis index -> its closing index

        def reduce(keep: set) -> None:
            while pending and pending[-1] in keep:
                op = pending.pop()
                right = operands.pop()
                operands.append(Node("NOT", right) if op == "NOT" else Node(op, operands.pop(), right))

        while True:
            token = self.peek
            if token.kind == PUNCT and token.text == "(":
                pending.append(self.pos)
                self.next()
            elif token.is_word("NOT"):
                self.count_operator()
                pending.append("NOT")
                self.next()
            else:
                operands.append(self.primary())
                while True:  # after an operand: closing parentheses, then AND / OR or the end
                    token = self.peek
                    if token.kind == PUNCT and token.text == ")" and any(isinstance(p, int) for p in pending):
                        reduce({"NOT", "AND", "OR"})
                        opened = pending.pop()
                        inner = opened + 1
                        if self.tokens[inner].text == "(" and closed_at.get(inner) == self.pos - 1:
                            raise self.error("The expression has redundant parentheses;")
                        closed_at[opened] = self.pos
                        self.next()
                        continue
                    break
                if token.is_word("AND"):
                    reduce({"NOT", "AND"})
                elif token.is_word("OR"):
                    reduce({"NOT", "AND", "OR"})
                else:
                    break
                self.count_operator()
                pending.append(token.text.upper())
                self.next()
        reduce({"NOT", "AND", "OR"})
        if pending:  # a parenthesis left open
            raise self.syntax_error()
        return operands[0]

    def primary(self) -> Node:
        token = self.peek
        if token.kind == NAME and token.text in _BOOL_FUNCTIONS and self.tokens[self.pos + 1].text == "(":
            self.next()
            self.count_operator()
            return self.condition_function(token.text)
        left = self.operand()
        token = self.peek
        if token.kind == PUNCT and token.text in _COMPARATORS:
            self.next()
            self.count_operator()
            right = self.operand()
            self._check_comparable(token.text, left, right)
            return Node(token.text, left, right)
        if token.is_word("BETWEEN"):
            self.next()
            self.count_operator()
            low = self.operand()
            if not self.at_word("AND"):
                raise self.syntax_error()
            self.next()
            high = self.operand()
            if isinstance(low, Value) and isinstance(high, Value):
                a, b = scalar_of(low.value), scalar_of(high.value)
                if type_of(low.value) == type_of(high.value) and a is not None and a > b:
                    raise self.error(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                        f"lower bound operand: AttributeValue: {show_value(low.value)}, upper bound operand: "
                        f"AttributeValue: {show_value(high.value)}")
            return Node("BETWEEN", left, low, high)
        if token.is_word("IN"):
            self.next()
            self.count_operator()
            self.expect("(")
            choices = [self.operand()]
            while self.at(","):
                self.next()
                choices.append(self.operand())
            self.expect(")")
            if len(choices) > 100:
                raise self.error("The IN operator is provided with too many operands; number of operands: "
                                 f"{len(choices)}")
            return Node("IN", left, *choices)
        raise self.syntax_error(token)

    def _check_comparable(self, op: str, left, right) -> None:
        if op in ("=", "<>"):
            return
        for side in (left, right):
            if isinstance(side, Value) and type_of(side.value) not in ("S", "N", "B"):
                raise self.error(f"Incorrect operand type for operator or function; operator or function: {op}, "
                                 f"operand type: {type_of(side.value)}")

    def condition_function(self, name: str) -> Node:
        args = self.function_args()
        expected = 1 if name in ("attribute_exists", "attribute_not_exists") else 2
        if len(args) != expected:
            raise self.error(f"Incorrect number of operands for operator or function; operator or function: {name}, "
                             f"number of operands: {len(args)}")
        if not isinstance(args[0], Path) and name != "contains":
            if name in ("attribute_exists", "attribute_not_exists", "attribute_type"):
                raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        if name == "attribute_type":
            if not isinstance(args[1], Value) or type_of(args[1].value) != "S":
                raise self.error(self._operand_type_message(name, args[1]))
            if args[1].value["S"] not in _TYPE_NAMES:
                raise self.error(f"Invalid attribute type name found; type: {args[1].value['S']}, valid types: "
                                 "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
        if name == "begins_with":
            for arg in args:
                if isinstance(arg, Value) and type_of(arg.value) not in ("S", "B"):
                    raise self.error(self._operand_type_message(name, arg))
        return Node(name, *args)

    # -- updates -----------------------------------------------------------------------------

    def parse_update(self, text: str) -> dict:
        """-> {"SET": [(path, expr)], "REMOVE": [path], "ADD": [(path, Value)], "DELETE": [(path, Value)]}."""
        self._start("UpdateExpression", text)
        clauses: dict[str, list] = {}
        if self.peek.kind == EOF:
            raise self.syntax_error()
        while self.peek.kind != EOF:
            token = self.next()
            word = token.text.upper() if token.kind == NAME else ""
            if word not in ("SET", "REMOVE", "ADD", "DELETE"):
                raise self.syntax_error(token)
            if word in clauses:
                raise self.error(f'The "{word}" section can only be used once in an update expression;')
            actions = clauses[word] = []
            while True:
                if word == "SET":
                    path = self.path()
                    self.expect("=")
                    actions.append((path, self.set_value()))
                elif word == "REMOVE":
                    actions.append(self.path())
                else:
                    path = self.path()
                    token = self.peek
                    if token.kind != VALUEREF:
                        raise self.syntax_error(token)
                    self.next()
                    value = self.value(token)
                    kind = type_of(value.value)
                    allowed = ("N", "SS", "NS", "BS") if word == "ADD" else ("SS", "NS", "BS")
                    if kind not in allowed:
                        raise self.error(f"Incorrect operand type for operator or function; operator: {word}, "
                                         f"operand type: {_TYPE_NAMES[kind]}")
                    actions.append((path, value))
                if self.at(","):
                    self.next()
                    continue
                break
        self._check_overlaps(clauses)
        return clauses

    def set_value(self):
        left = self.operand(allow_functions=True)
        if self.at("+") or self.at("-"):
            op = self.next().text
            self.count_operator()
            right = self.operand(allow_functions=True)
            for side in (left, right):
                if isinstance(side, Value) and type_of(side.value) != "N":
                    raise self.error(f"Incorrect operand type for operator or function; operator or function: {op}, "
                                     f"operand type: {type_of(side.value)}")
            return Node(op, left, right)
        if isinstance(left, Size):
            raise self.error("The function is not allowed in an update expression; function: size")
        return left

    def update_function(self, name: str) -> Node:
        args = self.function_args()
        if len(args) != 2:
            raise self.error(f"Incorrect number of operands for operator or function; operator or function: {name}, "
                             f"number of operands: {len(args)}")
        if name == "if_not_exists" and not isinstance(args[0], Path):
            raise self.error("Operator or function requires a document path; operator or function: if_not_exists")
        if name == "list_append":
            for arg in args:
                if isinstance(arg, Value) and type_of(arg.value) != "L":
                    raise self.error(self._operand_type_message(name, arg))
        return Node(name, *args)

    def _check_overlaps(self, clauses: dict) -> None:
        paths = []
        for word, actions in clauses.items():
            for action in actions:
                paths.append(action if word == "REMOVE" else action[0])
        for i, one in enumerate(paths):
            for two in paths[i + 1:]:
                a, b = one.elements, two.elements
                shorter = min(len(a), len(b))
                if a[:shorter] == b[:shorter]:
                    what = "conflict" if len(a) == len(b) else "overlap"
                    raise self.error(f"Two document paths {what} with each other; must remove or rewrite one of "
                                     f"these paths; path one: {one.show()}, path two: {two.show()}")

    # -- projections -------------------------------------------------------------------------

    def parse_projection(self, text: str) -> list[Path]:
        self._start("ProjectionExpression", text)
        paths = [self.path()]
        while self.at(","):
            self.next()
            paths.append(self.path())
        self.end()
        for i, one in enumerate(paths):
            for two in paths[i + 1:]:
                a, b = one.elements, two.elements
                shorter = min(len(a), len(b))
                if a[:shorter] == b[:shorter]:
                    what = "conflict" if len(a) == len(b) else "overlap"
                    raise self.error(f"Two document paths {what} with each other; must remove or rewrite one of "
                                     f"these paths; path one: {one.show()}, path two: {two.show()}")
        return paths

    # -- bookkeeping -------------------------------------------------------------------------

    def check_unused(self) -> None:
        unused = [k for k in self.names if k not in self.used_names]
        if unused:
            raise ExpressionError("Value provided in ExpressionAttributeNames unused in expressions: keys: {"
                                  + ", ".join(unused) + "}")
        unused = [k for k in self.values if k not in self.used_values]
        if unused:
            raise ExpressionError("Value provided in ExpressionAttributeValues unused in expressions: keys: {"
                                  + ", ".join(unused) + "}")


# -- evaluation --------------------------------------------------------------------------------


def resolve(item: dict | None, path: Path):
    """The AttributeValue at a document path, or None."""
    if item is None:
        return None
    elements = path.elements
    current = item.get(elements[0])
    for element in elements[1:]:
        if current is None:
            return None
        if isinstance(element, int):
            inner = current.get("L")
            if inner is None or element >= len(inner):
                return None
            current = inner[element]
        else:
            inner = current.get("M")
            if inner is None:
                return None
            current = inner.get(element)
    return current


def _operand_value(item, operand):
    if isinstance(operand, Value):
        return operand.value
    if isinstance(operand, Path):
        return resolve(item, operand)
    if isinstance(operand, Size):
        value = resolve(item, operand.path)
        if value is None:
            return None
        kind, inner = next(iter(value.items()))
        if kind == "S":
            return {"N": str(len(inner))}
        if kind in ("B", "SS", "NS", "BS", "M", "L"):
            return {"N": str(len(inner))}
        return None
    raise TypeError(operand)


def _compare(op: str, a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return op == "<>" and not (a is None and b is None)
    if op == "=":
        return values_equal(a, b)
    if op == "<>":
        return not values_equal(a, b)
    if type_of(a) != type_of(b):
        return False
    x, y = scalar_of(a), scalar_of(b)
    if x is None:
        return False
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def evaluate(node, item: dict | None) -> bool:
    op = node.op
    args = node.args
    if op == "AND":
        return evaluate(args[0], item) and evaluate(args[1], item)
    if op == "OR":
        return evaluate(args[0], item) or evaluate(args[1], item)
    if op == "NOT":
        return not evaluate(args[0], item)
    if op in _COMPARATORS:
        return _compare(op, _operand_value(item, args[0]), _operand_value(item, args[1]))
    if op == "BETWEEN":
        value = _operand_value(item, args[0])
        return _compare(">=", value, _operand_value(item, args[1])) and _compare("<=", value, _operand_value(item, args[2]))
    if op == "IN":
        value = _operand_value(item, args[0])
        if value is None:
            return False
        return any(_compare("=", value, _operand_value(item, choice)) for choice in args[1:])
    if op == "attribute_exists":
        return resolve(item, args[0]) is not None
    if op == "attribute_not_exists":
        return resolve(item, args[0]) is None
    if op == "attribute_type":
        value = resolve(item, args[0])
        return value is not None and type_of(value) == _operand_value(item, args[1])["S"]
    if op == "begins_with":
        value, prefix = _operand_value(item, args[0]), _operand_value(item, args[1])
        if value is None or prefix is None or type_of(value) != type_of(prefix) or type_of(value) not in ("S", "B"):
            return False
        return next(iter(value.values())).startswith(next(iter(prefix.values())))
    if op == "contains":
        value, operand = _operand_value(item, args[0]), _operand_value(item, args[1])
        if value is None or operand is None:
            return False
        kind, inner = next(iter(value.items()))
        okind, oinner = next(iter(operand.items()))
        if kind == "S" and okind == "S":
            return oinner in inner
        if kind == "B" and okind == "B":
            return bytes(oinner) in bytes(inner)
        if kind == "SS" and okind == "S" or kind == "BS" and okind == "B":
            return oinner in inner
        if kind == "NS" and okind == "N":
            target = Decimal(oinner)
            return any(Decimal(n) == target for n in inner)
        if kind == "L":
            return any(values_equal(v, operand) for v in inner)
        return False
    raise TypeError(op)


# -- updates -----------------------------------------------------------------------------------


class UpdateError(AwsError):
    def __init__(self, message: str):
        super().__init__("ValidationException", message, 400)


def _update_operand(item, operand):
    if isinstance(operand, Node):
        if operand.op == "if_not_exists":
            existing = resolve(item, operand.args[0])
            return existing if existing is not None else _update_operand(item, operand.args[1])
        if operand.op == "list_append":
            a, b = (_update_operand(item, arg) for arg in operand.args)
            if type_of(a) != "L" or type_of(b) != "L":
                raise UpdateError("An operand in the update expression has an incorrect data type")
            return {"L": a["L"] + b["L"]}
        a, b = (_update_operand(item, arg) for arg in operand.args)
        if type_of(a) != "N" or type_of(b) != "N":
            raise UpdateError("An operand in the update expression has an incorrect data type")
        x, y = Decimal(a["N"]), Decimal(b["N"])
        return {"N": _exact(_WIDE.add(x, y) if operand.op == "+" else _WIDE.subtract(x, y))}
    value = _operand_value(item, operand)
    if value is None:
        raise UpdateError("The provided expression refers to an attribute that does not exist in the item")
    return value


def _exact(value: Decimal) -> str:
    """The result of update arithmetic, held to DynamoDB's 38 digits and range (no rounding)."""
    return normalize_number(format(value, "f"))


def _copy(value: dict) -> dict:
    kind, inner = next(iter(value.items()))
    if kind == "M":
        return {"M": {k: _copy(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_copy(v) for v in inner]}
    if kind in ("SS", "NS", "BS"):
        return {kind: list(inner)}
    return value


def _container(item: dict, elements: tuple):
    """The dict or list holding the last element of a path, or None when a parent is missing."""
    current: dict | list = item
    for element in elements[:-1]:
        if isinstance(element, int):
            if not isinstance(current, list) or element >= len(current):
                return None
            value = current[element]
        else:
            if not isinstance(current, dict) or element not in current:
                return None
            value = current[element]
        kind, inner = next(iter(value.items()))
        if kind not in ("M", "L"):
            return None
        current = inner
    return current


def _set(item: dict, path: Path, value: dict) -> None:
    container = _container(item, path.elements)
    last = path.elements[-1]
    if isinstance(last, int):
        if not isinstance(container, list):
            raise UpdateError("The document path provided in the update expression is invalid for update")
        if last >= len(container):
            container.append(value)
        else:
            container[last] = value
    else:
        if not isinstance(container, dict):
            raise UpdateError("The document path provided in the update expression is invalid for update")
        container[last] = value


def _remove(item: dict, path: Path) -> None:
    container = _container(item, path.elements)
    last = path.elements[-1]
    if isinstance(last, int):
        if isinstance(container, list) and last < len(container):
            del container[last]
    elif isinstance(container, dict):
        container.pop(last, None)


def apply_update(clauses: dict, item: dict | None) -> dict:
    """A new item: `item` (None when absent) with the update's actions applied."""
    old = item or {}
    new = {k: _copy(v) for k, v in old.items()}
    sets = [(path, _update_operand(old, expr)) for path, expr in clauses.get("SET", ())]
    for path, value in sets:
        _set(new, path, _copy(value))
    removes = sorted(clauses.get("REMOVE", ()), key=lambda p: [(-e if isinstance(e, int) else 0) for e in p.elements])
    for path in removes:
        _remove(new, path)
    for path, operand in clauses.get("ADD", ()):
        existing = resolve(new, path)
        value = operand.value
        kind = type_of(value)
        if existing is None:
            _set(new, path, _copy(value))
            continue
        if type_of(existing) != kind:
            raise UpdateError("An operand in the update expression has an incorrect data type")
        if kind == "N":
            _set(new, path, {"N": _exact(_WIDE.add(Decimal(existing["N"]), Decimal(value["N"])))})
        else:
            _set(new, path, {kind: _set_union(kind, existing[kind], value[kind])})
    for path, operand in clauses.get("DELETE", ()):
        existing = resolve(new, path)
        if existing is None:
            continue
        kind = type_of(operand.value)
        if type_of(existing) != kind:
            raise UpdateError("An operand in the update expression has an incorrect data type")
        remaining = _set_difference(kind, existing[kind], operand.value[kind])
        if remaining:
            _set(new, path, {kind: remaining})
        else:
            _remove(new, path)
    return new


def _set_union(kind: str, a: list, b: list) -> list:
    if kind == "NS":
        seen = {Decimal(x) for x in a}
        return a + [x for x in b if Decimal(x) not in seen]
    seen = set(a)
    return a + [x for x in b if x not in seen]


def _set_difference(kind: str, a: list, b: list) -> list:
    if kind == "NS":
        drop = {Decimal(x) for x in b}
        return [x for x in a if Decimal(x) not in drop]
    drop = set(b)
    return [x for x in a if x not in drop]


def updated_top_level(clauses: dict) -> set[str]:
    names = set()
    for word, actions in clauses.items():
        for action in actions:
            path = action if word == "REMOVE" else action[0]
            names.add(path.elements[0])
    return names


# -- projections -------------------------------------------------------------------------------


def project(item: dict, paths: list[Path]) -> dict:
    out: dict = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        _project_into(out, item, path.elements, value)
    return out


def _project_into(out: dict, item: dict, elements: tuple, value: dict) -> None:
    """Copy one path into `out`, building its parents; a projected list is built as an
    {index: value} dict and turned into a list (in index order) by finalize_projection."""
    if len(elements) == 1:
        out[elements[0]] = value
        return
    source = item[elements[0]]
    holder, key = out, elements[0]
    for i, element in enumerate(elements[1:], start=1):
        kind = type_of(source)
        existing = holder.get(key)
        if existing is None:
            existing = holder[key] = {kind: {}}
        inner = existing[kind]
        source = source[kind][element]
        if i == len(elements) - 1:
            inner[element] = value
        holder, key = inner, element


def finalize_projection(value):
    """Convert the {index: value} placeholders of projected lists into lists (in index order)."""
    if isinstance(value, dict) and len(value) == 1 and ("M" in value or "L" in value):
        kind, inner = next(iter(value.items()))
        if kind == "L" and isinstance(inner, dict):
            return {"L": [finalize_projection(inner[i]) for i in sorted(inner)]}
        if kind == "M" and isinstance(inner, dict):
            return {"M": {k: finalize_projection(v) for k, v in inner.items()}}
    return value


def projected(item: dict, paths: list[Path]) -> dict:
    out = project(item, paths)
    return {k: finalize_projection(v) for k, v in out.items()}


def top_level_names(paths: list[Path]) -> set[str]:
    return {p.elements[0] for p in paths}
