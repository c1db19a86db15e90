"""The test S3 server in a process of its own: it serves the bucket and reports each request."""

from __future__ import annotations

import time

import boto3

from automem_core.testing.s3_server import s3_server


def test_a_server_in_its_own_process_serves_and_reports_each_request():
    lines: list[str] = []
    with s3_server("own-process", own_process=True, on_request=lines.append) as env:
        client = boto3.client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        client.put_object(Bucket="own-process", Key="a/b.txt", Body=b"hello")
        body = client.get_object(Bucket="own-process", Key="a/b.txt")["Body"].read()
        assert body == b"hello"
        before = len(lines)
        client.head_object(Bucket="own-process", Key="a/b.txt")
        for _ in range(100):  # the lines arrive through the server's error stream
            if len(lines) > before:
                break
            time.sleep(0.05)
    assert any("PUT /own-process/a/b.txt" in line for line in lines)
    assert any("GET /own-process/a/b.txt" in line for line in lines)
    assert len(lines) > before and "HEAD /own-process/a/b.txt" in lines[-1]


def test_a_server_that_cannot_start_says_so_at_once():
    import socket

    from automem_core.testing.s3_server import _start_process

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        t0 = time.monotonic()
        try:
            _start_process(port, 0.0, lambda line: None)
        except RuntimeError as exc:
            assert f"did not start on port {port}" in str(exc)
        else:
            raise AssertionError("a server started on a port already taken")
        assert time.monotonic() - t0 < 30  # it saw the child end, not a minute's timeout
