// Validates emitted Gateway API documents offline and prints them as one JSON array.
// Usage: node validate.mjs FILE.yaml...
// HTTPRoute (gateway.networking.k8s.io/v1) objects are checked with the Gateway API v1
// schemas of @kubernetes-models/gateway-api; any other kind is an error. Exit 1 on the first
// invalid document, with its file, index and the schema's message.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";

const out = [];
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      console.error(`${file}: document ${i}: ${doc.errors[0].message}`);
      process.exit(1);
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;
    try {
      if (obj.apiVersion === "gateway.networking.k8s.io/v1" && obj.kind === "HTTPRoute") {
        new HTTPRoute(obj).validate();
      } else {
        throw new Error(`unexpected ${obj.apiVersion} ${obj.kind}`);
      }
    } catch (e) {
      console.error(`${file}: document ${i} (${obj?.metadata?.name}): ${e.message}`);
      process.exit(1);
    }
    out.push({ file, doc: obj });
  });
}
process.stdout.write(JSON.stringify(out));
