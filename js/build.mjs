// Bundle each widget entry (js/<name>.ts) into sae_circuits_widget/static/<name>.js.
// `node js/build.mjs` builds once; `--watch` rebuilds on change (pair with ANYWIDGET_HMR=1).
import * as esbuild from "esbuild";

// `--outdir=DIR` writes elsewhere (the tests compare a fresh build with the shipped one).
const entries = ["prompt_panel", "head_grid", "code_inspector", "circuit_explorer"];
const outArg = process.argv.find((a) => a.startsWith("--outdir="));
const options = {
  entryPoints: Object.fromEntries(entries.map((e) => [e, `js/${e}.ts`])),
  outdir: outArg ? outArg.slice("--outdir=".length) : "sae_circuits_widget/static",
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  loader: { ".css": "text" },
  legalComments: "none",
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
