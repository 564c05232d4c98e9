"""SQS (placeholder until the full provider lands)."""

from overcast.services.base import Provider


class SqsProvider(Provider):
    service = "sqs"

    def list_queues(self, ctx, params):
        return {"QueueUrls": []}
