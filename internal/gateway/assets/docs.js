// The API browser: fetch the served OpenAPI document and list its
// operations. A tiny reader of the document's own layout (two-space YAML
// as openapi.yaml is written), so the page needs no library and no CDN.
"use strict";

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function operations(text) {
  const lines = text.split("\n");
  const ops = [];
  let inPaths = false, path = null, op = null, section = null;
  for (const raw of lines) {
    if (raw.trim() === "" || raw.trim().startsWith("#")) continue;
    const ind = indentOf(raw), line = raw.trim();
    if (ind === 0) { inPaths = line === "paths:"; continue; }
    if (!inPaths) continue;
    if (ind === 2) { path = line.replace(/:$/, ""); op = null; continue; }
    if (ind === 4 && /^(get|post|put|delete|patch):$/.test(line)) {
      op = { method: line.replace(":", "").toUpperCase(), path: path, summary: "", params: [], responses: [] };
      ops.push(op); section = null; continue;
    }
    if (!op) continue;
    if (ind === 6) {
      section = line.replace(/:.*$/, "");
      if (section === "summary") op.summary = line.replace(/^summary:\s*/, "");
      if (section === "responses" && line.includes("*")) op.responses.push("(as ls)");
      continue;
    }
    if (section === "parameters" && ind === 8) {
      const m = line.match(/name: ([\w-]+)/) || line.match(/parameters\/(\w+)/);
      if (m) op.params.push(m[1]);
    }
    if (section === "responses" && ind === 8) {
      const m = line.match(/^"(\d{3})"/);
      if (m) op.responses.push(m[1]);
    }
  }
  return ops;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

fetch("/v1/openapi.yaml").then(function (r) {
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.text();
}).then(function (text) {
  const body = document.querySelector("#ops tbody");
  for (const op of operations(text)) {
    const row = document.createElement("tr");
    cell(row, op.method);
    cell(row, op.path);
    cell(row, op.summary);
    cell(row, op.params.join(", "));
    cell(row, op.responses.join(" "));
    body.appendChild(row);
  }
  document.getElementById("status").textContent = "";
}).catch(function (e) {
  document.getElementById("status").textContent = "Could not load the document: " + e.message;
});
