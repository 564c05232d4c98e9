"""`overcast start | status | reset` as a user runs them."""

import os
import signal
import subprocess
import sys
import threading
from urllib.parse import urlparse

import pytest
from conftest import TEST_DATABASES, OvercastProcess, make_client


def overcast_cli(*args, input_text=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "overcast", *args], capture_output=True, text=True, input=input_text, timeout=30,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def private_server(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path / "data"))
    yield server
    server.stop()


def port_of(server) -> str:
    return str(urlparse(server.endpoint).port)


def test_start_prints_one_ready_line_with_endpoint_and_data_dir(tmp_path):
    data_dir = str(tmp_path / "d")
    process = subprocess.Popen(
        [sys.executable, "-m", "overcast", "start", "--port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "ready on http://localhost:" in line
        assert data_dir in line
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert process.stdout.read() == ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_start_shuts_down_cleanly_on_signal(tmp_path, sig):
    server = OvercastProcess(data_dir=str(tmp_path / "d"))
    server.process.send_signal(sig)
    assert server.process.wait(timeout=10) == 0


def test_ephemeral_data_dir_is_removed_on_exit():
    server = OvercastProcess()
    data_dir = server.endpoint and _data_dir_from_health(server)
    assert os.path.isdir(data_dir)
    server.stop()
    assert not os.path.exists(data_dir)


def _data_dir_from_health(server) -> str:
    import httpx

    return httpx.get(f"{server.endpoint}/_overcast/health").json()["data_dir"]


def test_status_reports_a_running_server(private_server):
    result = overcast_cli("status", "--port", port_of(private_server))
    assert result.returncode == 0
    assert "running on" in result.stdout
    assert "sqs" in result.stdout


def test_status_reports_a_stopped_server():
    result = overcast_cli("status", "--port", "1")
    assert result.returncode == 1
    assert "not running" in result.stdout


def test_reset_with_yes_deletes_all_state(private_server):
    sqs = make_client(private_server.endpoint, "sqs")
    sqs.create_queue(QueueName="to-be-reset")
    result = overcast_cli("reset", "--yes", "--port", port_of(private_server))
    assert result.returncode == 0, result.stderr
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_reset_asks_first_and_keeps_state_on_no(private_server):
    sqs = make_client(private_server.endpoint, "sqs")
    sqs.create_queue(QueueName="kept")
    result = overcast_cli("reset", "--port", port_of(private_server), input_text="n\n")
    assert result.returncode == 1
    assert "nothing deleted" in result.stdout
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_reset_of_a_stopped_server_clears_its_data_dir(tmp_path):
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    make_client(server.endpoint, "sqs").create_queue(QueueName="gone")
    server.stop()
    # (on PostgreSQL, OVERCAST_TEST_DATABASE_URL, the server's database is the one to clear)
    database = {"OVERCAST_DATABASE_URL": TEST_DATABASES.url_for(data_dir)} if TEST_DATABASES else {}
    result = overcast_cli("reset", "--yes", "--port", "1", "--data-dir", data_dir, env=database)
    assert result.returncode == 0
    server = OvercastProcess(data_dir=data_dir)
    try:
        assert make_client(server.endpoint, "sqs").list_queues().get("QueueUrls", []) == []
    finally:
        server.stop()


def test_reset_deletes_nothing_when_a_server_answers_but_does_not_reset(tmp_path):
    """Only a port nobody listens on means "not running": a server that answers an error (or does
    not answer in time) may still be using the data directory, which is then left alone."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(500)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "overcast.db").write_bytes(b"in use")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = overcast_cli("reset", "--yes", "--port", str(server.server_address[1]), "--data-dir", str(data_dir))
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert "answered 500; nothing deleted" in result.stderr
    assert (data_dir / "overcast.db").read_bytes() == b"in use"


def test_environment_variables_configure_start(tmp_path):
    data_dir = str(tmp_path / "from-env")
    server = OvercastProcess(data_dir=None, env={"OVERCAST_DATA_DIR": data_dir, "OVERCAST_EPHEMERAL": ""})
    server.stop()
    # --ephemeral given by the harness wins over OVERCAST_DATA_DIR; a plain start uses the variable:
    process = subprocess.Popen(
        [sys.executable, "-m", "overcast", "start", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OVERCAST_DATA_DIR": data_dir},
    )
    try:
        assert data_dir in process.stdout.readline()
        assert os.path.exists(os.path.join(data_dir, "overcast.db"))
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- awslocal / overcast aws: the AWS CLI pointed at overcast ------------------------------------

def _cli_environment(**extra) -> dict:
    """The environment of a user who has set no AWS credentials, region or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OVERCAST_"))}
    return {**env, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **extra}


def test_awslocal_sends_sqs_commands_to_overcast(endpoint, client, unique_name):
    # AWS CLI v1 sends `aws sqs` to AWS's own host even with AWS_ENDPOINT_URL set; awslocal passes
    # --endpoint-url, so the queue is created in overcast (found by OVERCAST_PORT, test credentials)
    name = unique_name("awslocal")
    result = subprocess.run([sys.executable, "-m", "overcast.awslocal", "sqs", "create-queue", "--queue-name", name],
                            capture_output=True, text=True, timeout=60,
                            env=_cli_environment(OVERCAST_PORT=str(urlparse(endpoint).port)))
    assert result.returncode == 0, result.stderr
    assert name in client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def test_overcast_aws_uses_aws_endpoint_url_first(endpoint, client, unique_name):
    name = unique_name("ovaws")
    client("sns").create_topic(Name=name)
    result = subprocess.run([sys.executable, "-m", "overcast", "aws", "sns", "list-topics", "--output", "json"],
                            capture_output=True, text=True, timeout=60,
                            env=_cli_environment(AWS_ENDPOINT_URL=endpoint, OVERCAST_PORT="1"))
    assert result.returncode == 0, result.stderr
    assert f"arn:aws:sns:us-east-1:000000000000:{name}" in result.stdout


def test_awslocal_keeps_what_the_user_chose():
    from overcast.awslocal import command

    argv, env = command(["--endpoint-url", "http://elsewhere:1", "s3", "ls", "--region", "eu-west-1"],
                        {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"})
    assert argv[1:] == ["--endpoint-url", "http://elsewhere:1", "s3", "ls", "--region", "eu-west-1"]
    assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE" and "AWS_DEFAULT_REGION" not in env
    argv, env = command(["s3", "ls"], {"OVERCAST_HOST": "0.0.0.0", "OVERCAST_PORT": "4599"})
    assert argv[1:] == ["--endpoint-url", "http://127.0.0.1:4599", "s3", "ls"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_DEFAULT_REGION"]) == ("test", "us-east-1")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_start_with_postgresql_out_of_reach_says_so_in_one_line_and_exits_non_zero(tmp_path):
    url = f"postgresql://overcast@127.0.0.1:{_closed_port()}/overcast"
    result = overcast_cli("start", "--port", "0", "--data-dir", str(tmp_path / "d"), "--database", url)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith("overcast: cannot connect to PostgreSQL at postgresql://overcast@127.0.0.1:")
    assert "Connection refused" in lines[0]


def test_database_url_in_the_environment_is_used_too(tmp_path):
    url = f"postgresql://overcast@127.0.0.1:{_closed_port()}/overcast"
    result = subprocess.run([sys.executable, "-m", "overcast", "migrate", "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "OVERCAST_DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.startswith("overcast: cannot connect to PostgreSQL at ")


def test_migrate_creates_every_schema_once(tmp_path):
    data_dir = str(tmp_path / "d")
    first = overcast_cli("migrate", "--data-dir", data_dir)
    assert first.returncode == 0, first.stderr
    assert "sqs 0 -> " in first.stdout and "dynamodb 0 -> " in first.stdout
    second = overcast_cli("migrate", "--data-dir", data_dir)
    assert second.returncode == 0
    assert second.stdout.strip().endswith("up to date")
