"""PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.

Supported statements (DynamoDB's subset of PartiQL):

    SELECT * | path, ... FROM "table"[."index"] [WHERE condition]
    INSERT INTO "table" VALUE {'attr': value, ...}
    UPDATE "table" SET path = value [, ...] [REMOVE path [, ...]] WHERE key-and-condition [RETURNING ...]
    DELETE FROM "table" WHERE key-and-condition

Values are literals ('text', 12.5, true, false, null, {...}, [...], <<...>>) or `?` parameters.
WHERE conditions become the expression ASTs of expressions.py: a SELECT whose WHERE fixes the
partition key by equality reads one partition (a Query), any other SELECT scans.
"""

from __future__ import annotations

from overcast.aws.errors import AwsError
from overcast.services.dynamodb.expressions import MAX_OPERATORS, Node, Path, Size, Value, evaluate, projected
from overcast.services.dynamodb.values import (
    MAX_NESTING,
    check_value,
    hash_of,
    key_bytes,
    nesting_exceeded,
    type_of,
)

# How deep parentheses may nest in a WHERE clause. DynamoDB documents no figure for PartiQL; a
# bound keeps the recursive parser and evaluator far from Python's recursion limit.
MAX_PARENTHESES = 100


def _error(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _syntax(detail: str) -> AwsError:
    return _error(f"Statement wasn't well formed, can't be processed: {detail}")


# -- tokens ------------------------------------------------------------------------------------


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise _syntax("unterminated string literal")
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            tokens.append(("STR", "".join(buf)))
            i = j + 1
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise _syntax("unterminated quoted identifier")
            tokens.append(("ID", text[i + 1:j]))
            i = j + 1
        elif c.isdigit() or (c in "-." and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and (text[j].isdigit() or text[j] in ".eE" or (text[j] in "+-" and text[j - 1] in "eE")):
                j += 1
            tokens.append(("NUM", text[i:j]))
            i = j
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(("WORD", text[i:j]))
            i = j
        elif text[i:i + 2] in ("<>", "<=", ">=", "!=", "<<", ">>"):
            tokens.append(("P", text[i:i + 2]))
            i += 2
        elif c in "()[]{},.=<>*?:+-;":
            tokens.append(("P", c))
            i += 1
        else:
            raise _syntax(f"unexpected character '{c}'")
    tokens.append(("EOF", ""))
    return tokens


class _Parser:
    def __init__(self, text: str, parameters: list | None):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.parameters = [check_value(p) for p in parameters or ()]
        self.next_param = 0
        self.operators = 0
        self.parentheses = 0

    def count_operator(self) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise _syntax(f"the statement contains too many operators; operator count: {self.operators}")

    @property
    def peek(self):
        return self.tokens[self.pos]

    def take(self):
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def word(self, *words: str) -> bool:
        kind, text = self.peek
        return kind == "WORD" and text.upper() in words

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            raise _syntax(f"expected {word}, found '{self.peek[1] or 'end of statement'}'")
        self.take()

    def punct(self, text: str) -> bool:
        return self.peek == ("P", text)

    def expect(self, text: str) -> None:
        if not self.punct(text):
            raise _syntax(f"expected '{text}', found '{self.peek[1] or 'end of statement'}'")
        self.take()

    def end(self) -> None:
        if self.punct(";"):
            self.take()
        if self.peek[0] != "EOF":
            raise _syntax(f"unexpected token '{self.peek[1]}'")
        if self.next_param != len(self.parameters):
            raise _error("Number of parameters in request and statement don't match.")

    # -- pieces ------------------------------------------------------------------------------

    def table_ref(self) -> tuple[str, str | None]:
        kind, text = self.take()
        if kind not in ("ID", "WORD"):
            raise _syntax("expected a table name")
        index = None
        if self.punct("."):
            self.take()
            kind2, index = self.take()
            if kind2 not in ("ID", "WORD"):
                raise _syntax("expected an index name")
        return text, index

    def path(self) -> Path:
        kind, text = self.take()
        if kind not in ("ID", "WORD"):
            raise _syntax(f"unexpected token '{text}'")
        elements: list = [text]
        while True:
            if self.punct("."):
                self.take()
                kind, text = self.take()
                if kind not in ("ID", "WORD"):
                    raise _syntax(f"unexpected token '{text}'")
                elements.append(text)
            elif self.punct("["):
                self.take()
                kind, text = self.take()
                if kind == "NUM":
                    elements.append(int(text))
                elif kind == "STR":
                    elements.append(text)
                else:
                    raise _syntax("expected a list index")
                self.expect("]")
            else:
                return Path(tuple(elements))

    def _values_until(self, close: str, depth: int) -> list:
        """Comma-separated values up to `close` (a list's "]" or a set's ">>"), which is consumed."""
        items = []
        while not self.punct(close):
            items.append(self.value(depth))
            if not self.punct(","):
                break
            self.take()
        self.expect(close)
        return items

    def value(self, depth: int = 0) -> dict:
        """A literal; `depth` counts the maps and lists around it, which DynamoDB allows 32 deep."""
        kind, text = self.peek
        if self.punct("?"):
            self.take()
            if self.next_param >= len(self.parameters):
                raise _error("Number of parameters in request and statement don't match.")
            value = self.parameters[self.next_param]
            self.next_param += 1
            return value
        if kind == "STR":
            self.take()
            return {"S": text}
        if kind == "NUM":
            self.take()
            return check_value({"N": text})
        if kind == "WORD" and text.upper() in ("TRUE", "FALSE"):
            self.take()
            return {"BOOL": text.upper() == "TRUE"}
        if kind == "WORD" and text.upper() == "NULL":
            self.take()
            return {"NULL": True}
        if (self.punct("{") or self.punct("[")) and depth >= MAX_NESTING:
            raise nesting_exceeded()
        if self.punct("{"):
            self.take()
            out = {}
            while not self.punct("}"):
                key_kind, key = self.take()
                if key_kind not in ("STR", "ID"):
                    raise _syntax("expected an attribute name")
                self.expect(":")
                out[key] = self.value(depth + 1)
                if not self.punct(","):
                    break
                self.take()
            self.expect("}")
            return {"M": out}
        if self.punct("["):
            self.take()
            return {"L": self._values_until("]", depth + 1)}
        if self.punct("<<"):
            self.take()
            items = self._values_until(">>", depth + 1)
            kinds = {type_of(v) for v in items}
            if len(kinds) != 1 or next(iter(kinds)) not in ("S", "N", "B"):
                raise _error("Set elements must all be strings, numbers or binaries")
            kind = next(iter(kinds))
            return check_value({kind + "S": [next(iter(v.values())) for v in items]})
        raise _syntax(f"unexpected token '{text or 'end of statement'}'")

    def operand(self):
        kind, text = self.peek
        if kind == "WORD" and self.tokens[self.pos + 1] == ("P", "(") and text.lower() == "size":
            self.take()
            self.expect("(")
            path = self.path()
            self.expect(")")
            return Size(path)
        if kind in ("ID",) or (kind == "WORD" and text.upper() not in ("TRUE", "FALSE", "NULL")):
            return self.path()
        return Value(self.value(), "")

    # -- conditions --------------------------------------------------------------------------

    def condition(self):
        node = self.and_()
        while self.word("OR"):
            self.take()
            self.count_operator()
            node = Node("OR", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.word("AND"):
            self.take()
            self.count_operator()
            node = Node("AND", node, self.not_())
        return node

    def not_(self):
        negations = 0
        while self.word("NOT"):  # a loop, not recursion: NOT NOT NOT ... costs no stack
            self.take()
            self.count_operator()
            negations += 1
        node = self.primary()
        for _ in range(negations):
            node = Node("NOT", node)
        return node

    def primary(self):
        if self.punct("("):
            self.take()
            self.parentheses += 1
            if self.parentheses > MAX_PARENTHESES:
                raise _syntax(f"parentheses nested deeper than {MAX_PARENTHESES} levels")
            node = self.condition()
            self.expect(")")
            self.parentheses -= 1
            return node
        kind, text = self.peek
        functions = ("begins_with", "contains", "attribute_exists", "attribute_not_exists", "attribute_type")
        if kind == "WORD" and text.lower() in functions and self.tokens[self.pos + 1] == ("P", "("):
            self.take()
            self.count_operator()
            self.expect("(")
            args = [self.operand()]
            while self.punct(","):
                self.take()
                args.append(self.operand())
            self.expect(")")
            return Node(text.lower(), *args)
        left = self.operand()
        kind, text = self.peek
        if kind == "P" and text in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.take()
            self.count_operator()
            return Node("<>" if text == "!=" else text, left, self.operand())
        if self.word("BETWEEN"):
            self.take()
            self.count_operator()
            low = self.operand()
            self.expect_word("AND")
            return Node("BETWEEN", left, low, self.operand())
        if self.word("IN"):
            self.take()
            self.count_operator()
            closing = "]" if self.punct("[") else ")"
            self.take()
            choices = [self.operand()]
            while self.punct(","):
                self.take()
                choices.append(self.operand())
            self.expect(closing)
            return Node("IN", left, *choices)
        if self.word("IS"):
            self.take()
            negate = False
            if self.word("NOT"):
                self.take()
                negate = True
            if self.word("MISSING"):
                self.take()
                node = Node("attribute_not_exists", left)
            elif self.word("NULL"):
                self.take()
                node = Node("attribute_type", left, Value({"S": "NULL"}, ""))
            else:
                raise _syntax("expected MISSING or NULL")
            return Node("NOT", node) if negate else node
        raise _syntax(f"unexpected token '{text or 'end of statement'}'")


def parse(text: str, parameters: list | None) -> dict:
    if not isinstance(text, str) or not text.strip():
        raise _syntax("empty statement")
    p = _Parser(text, parameters)
    if p.word("SELECT"):
        p.take()
        paths = None
        if p.punct("*"):
            p.take()
        else:
            paths = [p.path()]
            while p.punct(","):
                p.take()
                paths.append(p.path())
        p.expect_word("FROM")
        table, index = p.table_ref()
        where = None
        if p.word("WHERE"):
            p.take()
            where = p.condition()
        p.end()
        return {"kind": "SELECT", "table": table, "index": index, "paths": paths, "where": where}
    if p.word("INSERT"):
        p.take()
        p.expect_word("INTO")
        table, _ = p.table_ref()
        p.expect_word("VALUE")
        value = p.value()
        if type_of(value) != "M":
            raise _syntax("INSERT expects a tuple value")
        p.end()
        return {"kind": "INSERT", "table": table, "item": value["M"]}
    if p.word("UPDATE"):
        p.take()
        table, _ = p.table_ref()
        clauses: dict = {}
        while p.word("SET", "REMOVE"):
            word = p.take()[1].upper()
            while True:
                path = p.path()
                if word == "SET":
                    p.expect("=")
                    left = p.operand()
                    if p.punct("+") or p.punct("-"):
                        op = p.take()[1]
                        clauses.setdefault("SET", []).append((path, Node(op, left, p.operand())))
                    else:
                        clauses.setdefault("SET", []).append((path, left))
                else:
                    clauses.setdefault("REMOVE", []).append(path)
                if not p.punct(","):
                    break
                p.take()
        if not clauses:
            raise _syntax("expected SET or REMOVE")
        p.expect_word("WHERE")
        where = p.condition()
        returning = None
        if p.word("RETURNING"):
            p.take()
            returning = p.take()[1].upper()
            p.expect("*")
        p.end()
        return {"kind": "UPDATE", "table": table, "clauses": clauses, "where": where, "returning": returning}
    if p.word("DELETE"):
        p.take()
        p.expect_word("FROM")
        table, _ = p.table_ref()
        p.expect_word("WHERE")
        where = p.condition()
        returning = None
        if p.word("RETURNING"):
            p.take()
            returning = p.take()[1].upper()
            p.expect("*")
        p.end()
        return {"kind": "DELETE", "table": table, "where": where, "returning": returning}
    raise _syntax(f"unexpected token '{p.peek[1]}'")


# -- execution ---------------------------------------------------------------------------------


def _equalities(node) -> dict:
    """Top-level `attr = value` terms of an AND chain."""
    found: dict = {}

    def walk(n):
        if isinstance(n, Node) and n.op == "AND":
            walk(n.args[0])
            walk(n.args[1])
        elif isinstance(n, Node) and n.op == "=":
            a, b = n.args
            if isinstance(b, Path) and isinstance(a, Value):
                a, b = b, a
            if isinstance(a, Path) and isinstance(b, Value) and len(a.elements) == 1:
                found.setdefault(a.elements[0], b.value)

    walk(node)
    return found


def _key_of(table, where) -> tuple:
    terms = _equalities(where)
    key = {}
    for name in table.key_names():
        if name not in terms:
            raise _error("Where clause does not contain a mandatory equality on all key attributes")
        key[name] = terms[name]
    return table.param_key(key)


def _select(provider, ctx, statement: dict, limit: int | None, token: str | None) -> dict:
    table = provider._table(ctx, statement["table"])
    index = provider._index(table, statement["index"]) if statement["index"] else None
    where = statement["where"]
    hash_name = index.hash_name if index else table.hash_name
    terms = _equalities(where) if where is not None else {}
    after = None
    if token:
        import base64

        import orjson

        from overcast.services.dynamodb.values import item_from_json

        try:
            start = item_from_json(orjson.loads(base64.urlsafe_b64decode(token.encode())))
        except Exception:
            raise _error("Invalid NextToken") from None
        after = provider._start_key(table, index, start)
    if hash_name in terms:
        value = terms[hash_name]
        pk = key_bytes(value)
        hash_ = hash_of(pk)

        def fetch(after_pos, size):
            if index is None:
                rows = provider.store.query_items(table.id, hash_, pk, None, (), True,
                                                  after_pos[2] if after_pos else None, size)
                return [((hash_, pk, sk), blob) for sk, blob in rows]
            rows = provider.store.query_index(table.id, index.name, hash_, pk, None, (), True,
                                              after_pos[2:5] if after_pos else None, size)
            return [((hash_, pk, sk, tpk, tsk), blob) for sk, tpk, tsk, blob in rows]
    else:
        def fetch(after_pos, size):
            if index is None:
                rows = provider.store.scan_items(table.id, after_pos[:3] if after_pos else None, None, size)
                return [((h, p, s), blob) for h, p, s, blob in rows]
            rows = provider.store.scan_index(table.id, index.name, after_pos, None, size)
            return [(tuple(r[:5]), r[5]) for r in rows]

    select = "SPECIFIC_ATTRIBUTES" if statement["paths"] else ("ALL_PROJECTED_ATTRIBUTES" if index else "ALL_ATTRIBUTES")
    page = provider._page(table, index, fetch, after, limit, where, statement["paths"], select, {})
    out = {"Items": page.get("Items", [])}
    if "LastEvaluatedKey" in page:
        import base64

        import orjson

        from overcast.services.dynamodb.values import item_to_json

        out["NextToken"] = base64.urlsafe_b64encode(orjson.dumps(item_to_json(page["LastEvaluatedKey"]))).decode()
    return out


def _plan_write(provider, ctx, statement: dict) -> tuple:
    """(table, key, key_item, condition, kind, payload) of a write statement."""
    table = provider._table(ctx, statement["table"])
    if statement["kind"] == "INSERT":
        item, key = provider._checked_item(table, statement["item"])
        return table, key, None, None, "INSERT", item
    full = _key_of(table, statement["where"])
    return table, full[:3], full[3], statement["where"], statement["kind"], statement.get("clauses")


def _apply_write(provider, plan: tuple) -> tuple[dict | None, dict | None, AwsError | None]:
    """Check and perform one planned write inside the caller's transaction: (old, new, error)."""
    table, key, key_item, where, kind, payload = plan
    old = provider._read(table, key)
    if kind == "INSERT":
        if old is not None:
            return old, None, AwsError("DuplicateItemException", "Duplicate primary key exists in table", 400)
        provider._write(table, key, None, payload)
        return None, payload, None
    if old is None or not evaluate(where, old):
        return old, None, AwsError("ConditionalCheckFailedException", "The conditional request failed", 400)
    if kind == "DELETE":
        provider._write(table, key, old, None)
        return old, None, None
    for name in table.key_names():
        for word, actions in payload.items():
            for action in actions:
                path = action if word == "REMOVE" else action[0]
                if path.elements[0] == name:
                    return old, None, _error(f"Cannot update attribute {name}. This attribute is part of the key")
    new = provider._updated(table, payload, old, key_item)
    provider._write(table, key, old, new)
    return old, new, None


def _returning(statement: dict, old: dict | None, new: dict | None) -> dict:
    returning = statement.get("returning")
    if returning == "ALL_OLD" and old is not None:
        return {"Items": [old]}
    if returning == "ALL_NEW" and new is not None:
        return {"Items": [new]}
    if returning in ("MODIFIED_OLD", "MODIFIED_NEW"):
        source = old if returning == "MODIFIED_OLD" else new
        if source is not None:
            paths = [a if w == "REMOVE" else a[0] for w, acts in statement["clauses"].items() for a in acts]
            return {"Items": [projected(source, paths)]}
    return {"Items": []}


def execute_statement(provider, ctx, params: dict) -> dict:
    statement = parse(params["Statement"], params.get("Parameters"))
    if statement["kind"] == "SELECT":
        return _select(provider, ctx, statement, params.get("Limit"), params.get("NextToken"))
    plan = _plan_write(provider, ctx, statement)
    with provider.store.transaction():
        old, new, error = _apply_write(provider, plan)
        if error is not None:
            if error.code == "ConditionalCheckFailedException" and \
                    params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                error.fields["Item"] = old
            raise error
    return _returning(statement, old, new)


def batch_execute_statement(provider, ctx, params: dict) -> dict:
    entries = params["Statements"]
    if len(entries) > 25:
        raise _error("1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must "
                     "have length less than or equal to 25")
    parsed = []
    for entry in entries:
        try:
            parsed.append(parse(entry["Statement"], entry.get("Parameters")))
        except AwsError as error:
            parsed.append(error)
    kinds = {s["kind"] == "SELECT" for s in parsed if isinstance(s, dict)}
    if len(kinds) > 1:
        raise _error("Statements in a batch must all be reads or all be writes.")
    responses = []
    for entry, statement in zip(entries, parsed, strict=True):
        if isinstance(statement, AwsError):
            responses.append({"Error": {"Code": "ValidationError", "Message": statement.message}})
            continue
        try:
            table = provider._table(ctx, statement["table"])
            if statement["kind"] == "SELECT":
                full = _key_of(table, statement["where"])
                item = provider._read(table, full[:3])
                response = {"TableName": table.name}
                if item is not None and statement["where"] is not None and evaluate(statement["where"], item):
                    response["Item"] = projected(item, statement["paths"]) if statement["paths"] else item
                responses.append(response)
                continue
            plan = _plan_write(provider, ctx, statement)
            with provider.store.transaction():
                old, _new, error = _apply_write(provider, plan)
                if error is not None:
                    raise error
            responses.append({"TableName": table.name})
        except AwsError as error:
            code = {"ConditionalCheckFailedException": "ConditionalCheckFailed",
                    "DuplicateItemException": "DuplicateItem",
                    "ResourceNotFoundException": "ResourceNotFound"}.get(error.code, "ValidationError")
            failure = {"Code": code, "Message": error.message}
            if code == "ConditionalCheckFailed" and entry.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                old = error.fields.get("Item")
                if old is not None:
                    failure["Item"] = old
            responses.append({"Error": failure})
    return {"Responses": responses}


def execute_transaction(provider, ctx, params: dict) -> dict:
    entries = params["TransactStatements"]
    parsed = [parse(e["Statement"], e.get("Parameters")) for e in entries]
    kinds = {s["kind"] == "SELECT" for s in parsed}
    if len(kinds) > 1:
        raise _error("Transaction must contain either all reads or all writes")
    if kinds == {True}:
        responses = []
        for statement in parsed:
            table = provider._table(ctx, statement["table"])
            item = provider._read(table, _key_of(table, statement["where"])[:3])
            if item is not None and evaluate(statement["where"], item):
                responses.append({"Item": projected(item, statement["paths"]) if statement["paths"] else item})
            else:
                responses.append({})
        return {"Responses": responses}
    plans = [_plan_write(provider, ctx, s) for s in parsed]
    keys = [(p[0].id, p[1]) for p in plans]
    if len(set(keys)) != len(keys):
        raise _error("Transaction request cannot include multiple operations on one item")
    reasons, failed = [], False
    with provider.store.transaction():
        for entry, plan in zip(entries, plans, strict=True):
            old, _new, error = _apply_write(provider, plan)
            if error is None:
                reasons.append({"Code": "None"})
                continue
            failed = True
            code = {"ConditionalCheckFailedException": "ConditionalCheckFailed",
                    "DuplicateItemException": "DuplicateItem"}.get(error.code, "ValidationError")
            reason = {"Code": code, "Message": error.message}
            if entry.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                reason["Item"] = old
            reasons.append(reason)
        if failed:
            codes = ", ".join(r["Code"] for r in reasons)
            raise AwsError("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons "
                           f"for specific reasons [{codes}]", 400, CancellationReasons=reasons)
    return {"Responses": []}  # a write transaction answers an empty list, as AWS does
