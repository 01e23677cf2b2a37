/**
 * Finds the public exports without TSDoc: every symbol reachable from an entry file's
 * exports, through namespace re-exports (`export * as nn`), each overload of an exported
 * function, and the members of exported option objects (interfaces and type literals whose name ends in `Options`), whose
 * declaration carries no documentation. Used by tsdoc.test.ts.
 */
import ts from 'typescript';

function hasDoc(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '') return true;
  // A comment of tags only (@param, @example, ...) is TSDoc too; a bare @internal is not.
  return (symbol.declarations ?? []).some((d) =>
    ts.getJSDocCommentsAndTags(d).some((j) => ts.isJSDoc(j) && (j.tags ?? []).some((t) => t.tagName.text !== 'internal')),
  );
}

function declarationHasDoc(declaration: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(declaration).some((j) => ts.isJSDoc(j) && (ts.getTextOfJSDocComment(j.comment)?.trim() || (j.tags ?? []).some((t) => t.tagName.text !== 'internal')));
}

/** Members an option object declares itself (inherited ones are checked where declared). */
function optionMembers(symbol: ts.Symbol, checker: ts.TypeChecker): ts.Symbol[] {
  const owners = new Set<ts.Node>();
  for (const d of symbol.declarations ?? []) owners.add(ts.isTypeAliasDeclaration(d) ? d.type : d);
  return checker
    .getDeclaredTypeOfSymbol(symbol)
    .getProperties()
    .filter((p) => (p.declarations ?? []).some((d) => owners.has(d.parent)));
}

/**
 * Dotted names (`nn.Conv2d`, `optim.SGDOptions.lr`) of the exports of `entry`, and of the
 * members of exported `*Options` objects, that have no TSDoc; sorted. Only declarations
 * in files under `root` count (not node_modules types that are re-exported).
 */
export function undocumentedExports(program: ts.Program, entry: string, root: string): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const entrySymbol = source && checker.getSymbolAtLocation(source);
  if (!entrySymbol) throw new Error(`tsdoc walk: ${entry} is not a module of the program`);
  const missing = new Set<string>();
  const seen = new Set<ts.Symbol>();

  const visit = (name: string, exported: ts.Symbol) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (seen.has(symbol)) return;
    seen.add(symbol);
    const declarations = (symbol.declarations ?? []).filter((d) => d.getSourceFile().fileName.startsWith(root));
    if (declarations.length === 0) return;
    if (declarations.some(ts.isSourceFile)) {
      // A namespace re-export: its @module comment documents it; walk what it exports.
      for (const inner of checker.getExportsOfModule(symbol)) visit(`${name}.${inner.name}`, inner);
      return;
    }
    if (!hasDoc(symbol, checker)) missing.add(name);
    // Editors show the doc of the overload a call resolves to, so each overload needs its own.
    const overloads = declarations.filter((d) => ts.isFunctionDeclaration(d) && d.body === undefined);
    overloads.forEach((d, i) => {
      if (!declarationHasDoc(d)) missing.add(`${name} (overload ${i + 1})`);
    });
    if (symbol.name.endsWith('Options')) {
      for (const member of optionMembers(symbol, checker)) if (!hasDoc(member, checker)) missing.add(`${name}.${member.name}`);
    }
  };

  for (const exported of checker.getExportsOfModule(entrySymbol)) visit(exported.name, exported);
  return [...missing].sort();
}
