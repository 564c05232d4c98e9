"""Amazon DynamoDB Streams: ListStreams, DescribeStream, GetShardIterator, GetRecords.

The records live with DynamoDB (services/dynamodb/streams.py); this provider answers the Streams
API from the DynamoDB provider's StreamsHub.
"""

from __future__ import annotations

from overcast.services.base import Provider


class DynamoDbStreamsProvider(Provider):
    service = "dynamodbstreams"

    async def _hub(self):
        return (await self.providers.get("dynamodb")).streams

    async def list_streams(self, ctx, params: dict) -> dict:
        return (await self._hub()).list_streams(ctx.account, ctx.region, params)

    async def describe_stream(self, ctx, params: dict) -> dict:
        return (await self._hub()).describe_stream(ctx.account, ctx.region, params)

    async def get_shard_iterator(self, ctx, params: dict) -> dict:
        return (await self._hub()).get_shard_iterator(ctx.account, ctx.region, params)

    async def get_records(self, ctx, params: dict) -> dict:
        return (await self._hub()).get_records(ctx.account, ctx.region, params)
