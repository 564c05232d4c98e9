"""Helpers shared by the API Gateway tests: build a REST API quickly and call its stage."""

from __future__ import annotations

import httpx

LAMBDA_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"


class Api:
    """A REST API under construction: resources by path, methods, a deployment, calls."""

    def __init__(self, apigw, endpoint: str, name: str, **kwargs):
        self.c = apigw
        self.endpoint = endpoint
        created = apigw.create_rest_api(name=name, **kwargs)
        self.id = created["id"]
        self.root = created["rootResourceId"]
        self.resources = {"/": self.root}
        self.stage = None

    def resource(self, path: str) -> str:
        if path in self.resources:
            return self.resources[path]
        parent_path, _, part = path.rstrip("/").rpartition("/")
        parent = self.resource(parent_path or "/")
        rid = self.c.create_resource(restApiId=self.id, parentId=parent, pathPart=part)["id"]
        self.resources[path] = rid
        return rid

    def method(self, path: str, http_method: str, integration: dict | None = None, responses: dict | None = None,
               **method_kwargs) -> str:
        rid = self.resource(path)
        method_kwargs.setdefault("authorizationType", "NONE")
        self.c.put_method(restApiId=self.id, resourceId=rid, httpMethod=http_method, **method_kwargs)
        if integration is not None:
            self.c.put_integration(restApiId=self.id, resourceId=rid, httpMethod=http_method, **integration)
        for status, conf in (responses or {}).items():
            self.c.put_method_response(restApiId=self.id, resourceId=rid, httpMethod=http_method, statusCode=status)
            self.c.put_integration_response(restApiId=self.id, resourceId=rid, httpMethod=http_method,
                                            statusCode=status, **conf)
        return rid

    def mock(self, path: str, http_method: str = "GET", template: str = '{"ok": true}', status: str = "200",
             **method_kwargs) -> str:
        return self.method(path, http_method,
                           {"type": "MOCK", "requestTemplates": {"application/json": f'{{"statusCode": {status}}}'}},
                           {status: {"responseTemplates": {"application/json": template}}}, **method_kwargs)

    def lambda_proxy(self, path: str, http_method: str, function_arn: str, **method_kwargs) -> str:
        return self.method(path, http_method, {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                               "uri": LAMBDA_URI.format(arn=function_arn)}, **method_kwargs)

    def deploy(self, stage: str = "test", **kwargs) -> str:
        self.c.create_deployment(restApiId=self.id, stageName=stage, **kwargs)
        self.stage = stage
        return stage

    def url(self, path: str = "/", stage: str | None = None) -> str:
        return f"{self.endpoint}/_aws/execute-api/{self.id}/{stage or self.stage}{path}"

    def call(self, method: str, path: str = "/", stage: str | None = None, **kwargs) -> httpx.Response:
        return httpx.request(method, self.url(path, stage), timeout=30, **kwargs)


def function_arn(lam, name: str) -> str:
    return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
