// Validate Kubernetes objects against the API's JSON schemas, offline,
// with kubernetes-models (Kubernetes 1.27 OpenAPI: types, required
// fields, enums, formats).
//
//   node k8s_validate.js TOOLS_DIR < objects.json
//
// stdin: a JSON array of objects. stdout: a JSON array with, for each one,
// {kind, name, errors}: errors is empty when the object is valid.
"use strict";
const path = require("path");
const fs = require("fs");

const tools = path.resolve(process.argv[2]);
const models = path.join(tools, "node_modules", "kubernetes-models");
const objects = JSON.parse(fs.readFileSync(0, "utf8"));
const results = objects.map((obj) => {
  const kind = obj.kind || "?";
  const name = (obj.metadata && obj.metadata.name) || "?";
  const [group, version] = (obj.apiVersion || "").includes("/")
    ? obj.apiVersion.split("/")
    : ["", obj.apiVersion];
  const file = group
    ? path.join(models, group, version, kind)
    : path.join(models, version, kind);
  let Model;
  try {
    Model = require(file)[kind];
  } catch (e) {
    return { kind, name, errors: [`no schema for ${obj.apiVersion} ${kind}`] };
  }
  try {
    new Model(obj).validate();
    return { kind, name, errors: [] };
  } catch (e) {
    return { kind, name, errors: [String(e.message || e)] };
  }
});
process.stdout.write(JSON.stringify(results));
