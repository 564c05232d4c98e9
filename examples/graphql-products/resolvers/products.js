// createProduct and updatePrice: APPSYNC_JS with the DynamoDB helpers of @aws-appsync/utils.
// Only the "editors" group of the user pool reaches them (schema.graphql); ctx.identity is the
// signed-in editor, whose user id (sub: in ID and access tokens alike) is kept with each change.
import { util } from '@aws-appsync/utils';
import * as ddb from '@aws-appsync/utils/dynamodb';

export function request(ctx) {
  const now = util.time.nowISO8601();
  if (ctx.info.fieldName === 'createProduct') {
    const { name, category, price } = ctx.args.input;
    if (price < 0) util.error('A price cannot be negative', 'ValidationError');
    return ddb.put({
      key: { id: util.autoId() },
      item: { name, category, price, updatedAt: now, updatedBy: ctx.identity.sub },
      condition: { id: { attributeExists: false } },
    });
  }
  return ddb.update({
    key: { id: ctx.args.id },
    update: { price: ctx.args.price, updatedAt: now, updatedBy: ctx.identity.sub },
    condition: { id: { attributeExists: true } },
  });
}

export function response(ctx) {
  if (ctx.error) util.error(ctx.error.message, ctx.error.type);
  return ctx.result;
}
