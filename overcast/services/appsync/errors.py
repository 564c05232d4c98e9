"""Errors a resolver raises: each becomes one entry of the response's `errors` array, shaped as
AppSync shapes it (message, errorType, data, errorInfo, path, locations)."""

from __future__ import annotations


class ResolverError(Exception):
    """$util.error / util.error, a data source's failure, a template that does not render."""

    def __init__(self, message, error_type=None, data=None, error_info=None):
        super().__init__(message)
        self.message = "" if message is None else str(message)
        self.error_type = error_type
        self.data = data
        self.error_info = error_info


class EarlyReturn(Exception):
    """#return / runtime.earlyReturn: stop the template and make `value` the result."""

    def __init__(self, value=None, has_value: bool = False):
        super().__init__("return")
        self.value = value
        self.has_value = has_value


class ErrorAppender(list):
    """$util.appendError's target (VTL and JS resolvers alike): records the error with the field's
    path and locations on the request, for the response's `errors` array."""

    def __init__(self, call):
        super().__init__()
        self.call = call

    def append(self, error) -> None:
        info = self.call.info
        self.call.state.appended.append((error, info.path.as_list(), [
            {"line": loc.line, "column": loc.column, "sourceName": None}
            for loc in (n.loc.source.get_location(n.loc.start) for n in info.field_nodes if n.loc)]))


def unauthorized(field: str, type_name: str) -> ResolverError:
    return ResolverError(f"Not Authorized to access {field} on type {type_name}", "Unauthorized")
