"""Lambda refuses, at upload, a package it could not unzip at the first invoke — a path that is
both a file and a directory, a corrupt member, an absolute path, `..` — with AWS's
InvalidParameterValueException, on CreateFunction, UpdateFunctionCode and PublishLayerVersion."""

from __future__ import annotations

import io
import zipfile

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, create_python, python_zip

UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
HANDLER = "def handler(event, context):\n    return 'ok'\n"


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def _corrupt_member() -> bytes:
    data = bytearray(_zip([("app.py", HANDLER.encode())]))
    offset = data.index(b"return")  # stored uncompressed: change a byte of the member, not the directory
    data[offset] ^= 0xFF
    return bytes(data)


BAD_PACKAGES = {
    "file_and_directory": lambda: _zip([("app.py", HANDLER.encode()), ("a", b"file"), ("a/b", b"inside")]),
    "directory_after_file": lambda: _zip([("a/b", b"inside"), ("app.py", HANDLER.encode()), ("a", b"file")]),
    "corrupt_member": _corrupt_member,
    "absolute_path": lambda: _zip([("app.py", HANDLER.encode()), ("/etc/passwd", b"x")]),
    "parent_path": lambda: _zip([("app.py", HANDLER.encode()), ("../outside.py", b"x")]),
    "name_too_long": lambda: _zip([("app.py", HANDLER.encode()), ("x" * 300, b"x")]),
}


def _refused(call, **kwargs) -> None:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (response["Error"]["Code"], response["Error"]["Message"]) == ("InvalidParameterValueException", UNZIP)


@pytest.mark.parametrize("package", sorted(BAD_PACKAGES))
def test_create_function_refuses_a_package_it_cannot_unzip(lam, unique_name, package):
    name = unique_name("fn")
    _refused(lam.create_function, FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
             Code={"ZipFile": BAD_PACKAGES[package]()})
    with pytest.raises(ClientError) as info:
        lam.get_function(FunctionName=name)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_update_function_code_refuses_a_file_that_is_also_a_directory(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, HANDLER)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    _refused(lam.update_function_code, FunctionName=name, ZipFile=BAD_PACKAGES["file_and_directory"]())
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"ok"'


def test_publish_layer_version_refuses_a_file_that_is_also_a_directory(lam, unique_name):
    _refused(lam.publish_layer_version, LayerName=unique_name("layer"),
             Content={"ZipFile": BAD_PACKAGES["file_and_directory"]()})


def test_directories_listed_explicitly_are_still_accepted(lam, unique_name):
    name = unique_name("fn")
    code = _zip([("lib/", b""), ("lib/helper.py", b"VALUE = 'helped'\n"), ("./app.py",
                 b"from lib.helper import VALUE\ndef handler(event, context):\n    return VALUE\n")])
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": code})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"helped"'


def test_plain_package_still_works(lam, unique_name):
    name = unique_name("fn")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": python_zip(HANDLER)})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"ok"'
