// The `cfn-response` module CloudFormation puts beside inline (ZipFile) Node.js code: a custom
// resource's function answers CloudFormation by PUTting its result to the event's ResponseURL.
exports.SUCCESS = "SUCCESS";
exports.FAILED = "FAILED";

exports.send = function (event, context, responseStatus, responseData, physicalResourceId, noEcho) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({
      Status: responseStatus,
      Reason: "See the details in CloudWatch Log Stream: " + context.logStreamName,
      PhysicalResourceId: physicalResourceId || context.logStreamName,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      NoEcho: noEcho || false,
      Data: responseData,
    });
    console.log("Response body:\n", body);
    const url = new URL(event.ResponseURL);
    const client = url.protocol === "https:" ? require("https") : require("http");
    const request = client.request(url, {
      method: "PUT",
      headers: { "content-type": "", "content-length": Buffer.byteLength(body) },
    }, (response) => {
      console.log("Status code: " + response.statusCode);
      response.resume();
      response.on("end", () => { if (context.done) context.done(); resolve(); });
    });
    request.on("error", (error) => {
      console.log("send(..) failed executing https.request(..): " + error);
      if (context.done) context.done(error);
      reject(error);
    });
    request.write(body);
    request.end();
  });
};
