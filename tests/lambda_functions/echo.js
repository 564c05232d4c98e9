exports.handler = async (event, context) => {
  console.log("node got", JSON.stringify(event));
  if (event.fail) throw new Error("node failure");
  return { event, name: context.functionName, requestId: context.awsRequestId, node: process.version,
           memory: context.memoryLimitInMB, remaining: context.getRemainingTimeInMillis() > 0 };
};
