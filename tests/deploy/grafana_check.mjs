// tests/deploy/grafana_check.mjs - Grafana dashboards checked against the
// dashboard model Grafana publishes on npm (@grafana/schema, generated
// from its CUE schemas), with the TypeScript compiler: both pinned in
// tests/deploy/package-lock.json and installed by tools.sh.
//
//   node tests/deploy/grafana_check.mjs TOOLS_DIR DASHBOARD.json...
//
// Each dashboard becomes a TypeScript module that assigns the JSON to a
// typed constant: the whole document to Dashboard, and each panel's
// options and fieldConfig.defaults.custom to its panel kind's Options and
// FieldConfig. Object literals get TypeScript's excess property checks,
// so an unknown or misspelt key fails, as does a value of the wrong type
// or outside an enum. JSON cannot spell a TypeScript enum, so enums are
// compared by their values (`${Enum}`); panel options may leave out what
// Grafana fills in with defaults. Prints each diagnostic and exits 1 on
// any; exits 2 when the tools are missing.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [tools, ...files] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(tools), "package.json"));
let ts;
try {
  ts = require("typescript");
  require.resolve("@grafana/schema/package.json");
} catch (e) {
  console.error("grafana_check: typescript or @grafana/schema missing in " +
                tools + " (sh tests/deploy/tools.sh)");
  process.exit(2);
}

const SCHEMA = "@grafana/schema/dist/esm/raw";
// The panel kinds the dashboards use, and their schemas' modules.
const KINDS = {
  timeseries: "composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
  stat: "composable/stat/panelcfg/x/StatPanelCfg_types.gen",
  table: "composable/table/panelcfg/x/TablePanelCfg_types.gen",
  gauge: "composable/gauge/panelcfg/x/GaugePanelCfg_types.gen",
  bargauge: "composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen",
};

const HEADER = `
import type { Dashboard } from "${SCHEMA}/dashboard/x/Dashboard_types.gen";
${Object.entries(KINDS).map(([k, m]) =>
    `import type * as ${k} from "${SCHEMA}/${m}";`).join("\n")}
// Enums by their values (JSON has no enums), everything else as declared.
type Loose<T> = T extends string ? \`\${T}\`
  : T extends number | boolean | null | undefined ? T
  : T extends readonly (infer U)[] ? Loose<U>[]
  : T extends object ? { [K in keyof T]: Loose<T[K]> } : T;
// The same, every key optional (Grafana fills in panel defaults).
type Partly<T> = T extends string ? \`\${T}\`
  : T extends number | boolean | null | undefined ? T
  : T extends readonly (infer U)[] ? Partly<U>[]
  : T extends object ? { [K in keyof T]?: Partly<T[K]> } : T;
`;

// The TypeScript module for one dashboard, and where its lines came from.
function module(doc, name) {
  const lines = [HEADER, `export const dashboard: Loose<Dashboard> = ` +
                 JSON.stringify(doc, null, 2) + ";"];
  const notes = [];
  for (const p of doc.panels || []) {
    const kind = KINDS[p.type];
    if (!kind) {
      if (p.type !== "row")
        notes.push(`${name}: panel ${p.id} (${p.title}): no schema for ` +
                   `panel type ${p.type}`);
      continue;
    }
    const id = `${p.type}_${p.id}`;
    if (p.options)
      lines.push(`export const options_${p.id}: Partly<${p.type}.Options> = ` +
                 `${JSON.stringify(p.options, null, 2)}; // ${p.title}`);
    const custom = p.fieldConfig && p.fieldConfig.defaults &&
                   p.fieldConfig.defaults.custom;
    if (custom)
      lines.push(`export const custom_${id}: Partly<${p.type}.FieldConfig> = ` +
                 `${JSON.stringify(custom, null, 2)}; // ${p.title}`);
  }
  return { text: lines.join("\n"), notes };
}

let failed = false;
const out = path.join(path.resolve(tools), "grafana-check");
fs.mkdirSync(out, { recursive: true });
const roots = [];
for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(file, "utf8"));
  const { text, notes } = module(doc, file);
  for (const n of notes) {
    console.error(n);
    failed = true;
  }
  const ts_file = path.join(out, path.basename(file, ".json") + ".ts");
  fs.writeFileSync(ts_file, text);
  roots.push(ts_file);
}
const program = ts.createProgram(roots, {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: [],
});
const diagnostics = ts.getPreEmitDiagnostics(program);
for (const d of diagnostics) {
  const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file) {
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const src = d.file.text.split("\n")[line].trim();
    console.error(`${path.basename(d.file.fileName)}:${line + 1}: ${msg}\n` +
                  `    ${src}`);
  } else {
    console.error(msg);
  }
  failed = true;
}
console.log(`grafana_check: ${files.length} dashboard(s), ` +
            `${diagnostics.length} problem(s) (TypeScript ${ts.version})`);
process.exit(failed ? 1 : 0);
