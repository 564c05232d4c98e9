"""Handler code for the Lambda tests (the .py/.js files here), and helpers that zip it."""

from __future__ import annotations

import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def source(name: str) -> str:
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def zip_files(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def python_zip(text: str, module: str = "app") -> bytes:
    return zip_files({f"{module}.py": text})


def create_python(lam, name: str, text: str | None = None, handler: str = "app.handler", runtime: str = "python3.11",
                  **kwargs) -> dict:
    code = python_zip(text if text is not None else source("echo.py"))
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": code}, **kwargs)
