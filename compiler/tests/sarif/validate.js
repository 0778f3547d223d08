// Validates SARIF files against sarif-2.1.0.json as shipped in @microsoft/sarif-multitool-linux
// (JSON Schema draft 2020-12), offline. Usage: node validate.js FILE...; exit 1 on any error.
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const schemaPath = path.join(
  __dirname,
  "node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json"
);
const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
let failed = false;
for (const file of process.argv.slice(2)) {
  const log = JSON.parse(fs.readFileSync(file, "utf8"));
  if (validate(log)) {
    console.log(`${file}: valid`);
  } else {
    failed = true;
    for (const e of validate.errors) {
      console.log(`${file}: ${e.instancePath || "/"} ${e.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
