// Drive solc-js through its JavaScript API: standard-JSON on stdin, output to the file named
// by argv[2]. (The `solcjs` CLI prints a banner before its JSON and truncates on pipes.)
// Imports such as "@openzeppelin/contracts/..." resolve from the project's node_modules.
const fs = require("fs");
const path = require("path");

const root = process.argv[3] || process.cwd();
const solc = require(path.join(root, "node_modules", "solc"));

function findImports(importPath) {
  const candidates = [
    path.join(root, "node_modules", importPath),
    path.join(root, importPath),
  ];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: "File not found: " + importPath };
}

const input = fs.readFileSync(0, "utf8");
const output = solc.compile(input, { import: findImports });
fs.writeFileSync(process.argv[2], output);
fs.writeFileSync(process.argv[2] + ".version", solc.version());
