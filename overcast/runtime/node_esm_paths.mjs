// A module resolve hook (registered by node_site.js for ES-module handlers): a bare specifier that
// Node's own resolution does not find (the function's node_modules) is looked up in the NODE_PATH
// directories, in order, as AWS's Node.js runtimes do for `import`.
import path from "node:path";
import { pathToFileURL } from "node:url";

let directories = [];

export function initialize(data) {
  directories = data || [];
}

function bare(specifier) {
  return !specifier.startsWith(".") && !specifier.startsWith("/") && !specifier.includes(":");
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier)) throw error;
    for (const directory of directories) {
      // with a parent file in <dir>, Node looks in <dir>/node_modules and then up the tree: in
      // <dir> itself when it is a node_modules directory (only what is inside <dir> counts)
      const inside = pathToFileURL(directory).href.replace(/\/?$/, "/");
      try {
        const found = await nextResolve(specifier, { ...context, parentURL: new URL("overcast-parent.mjs", inside).href });
        if (found.url.startsWith(inside)) return found;
      } catch (e) {
        if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
      }
    }
    throw error;
  }
}
