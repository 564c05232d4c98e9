"""The S3 provider's API for other services (Lambda code from S3, Firehose output): objects in
and out without HTTP, notifications included."""

from __future__ import annotations

import asyncio

import pytest

from overcast.aws.errors import AwsError
from overcast.config import Config
from overcast.storage import FileBlobStore, SqliteDatabase


def test_write_object_then_read_object_in_process(tmp_path):
    from overcast.aws.dispatch import Providers

    async def run():
        config = Config(data_dir=str(tmp_path))
        providers = Providers(config, SqliteDatabase(str(tmp_path / "db.sqlite")), FileBlobStore(str(tmp_path / "blobs")))
        s3 = await providers.get("s3")
        from overcast.services.s3.store import Bucket

        s3.store.create_bucket(Bucket("internal-bucket", "000000000000", "us-east-1", 0.0, "", False, {}))
        small = await s3.write_object("000000000000", "us-east-1", "internal-bucket", "a.json", b'{"a": 1}',
                                      content_type="application/json")
        big_body = b"z" * (1024 * 1024)
        await s3.write_object("000000000000", "us-east-1", "internal-bucket", "big.bin", big_body)
        assert small["ETag"].startswith('"')
        assert await s3.read_object("000000000000", "us-east-1", "internal-bucket", "a.json") == b'{"a": 1}'
        assert await s3.read_object("000000000000", "us-east-1", "internal-bucket", "big.bin") == big_body
        with pytest.raises(AwsError) as e:
            await s3.read_object("000000000000", "us-east-1", "internal-bucket", "missing")
        assert e.value.code == "NoSuchKey"
        await providers.stop()

    asyncio.run(run())
