import ts from 'typescript';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
const files=[];
for (const d of ['src/domain','src/api','src/operations','src/auth']) (function walk(d){for(const n of readdirSync(d)){const f=join(d,n); if(statSync(f).isDirectory()) walk(f); else if(n.endsWith('.ts')) files.push(f);}})(d);
const H={invalid:1,notFound:0,conflict:0,forbidden:0,unauthorized:0,paymentRequired:0};
const doc=readFileSync('docs/errors.md','utf8');
function pattern(t){const parts=t.split(/\$\{[^}]*\}/).map(p=>p.replace(/[.*+?^${}()|[\]\\]/g,'\\$&'));return new RegExp(parts.join('.+?'));}
let n=0, undocumented=0;
for (const f of files){ const sf=ts.createSourceFile(f, readFileSync(f,'utf8'), ts.ScriptTarget.Latest, true);
 const visit=(node)=>{ let msgArg;
   if(ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in H) msgArg=node.arguments[H[node.expression.text]];
   if(ts.isNewExpression(node) && ts.isIdentifier(node.expression) && ['DomainError','OperationError','ArchiveError','InvalidTokenError','CypherScriptError'].includes(node.expression.text)) { const i = ['DomainError','ArchiveError'].includes(node.expression.text)?1:0; msgArg=node.arguments?.[i]; }
   if(msgArg){ n++; const line=sf.getLineAndCharacterOfPosition(node.getStart()).line+1;
     let t; if(ts.isStringLiteral(msgArg)||ts.isNoSubstitutionTemplateLiteral(msgArg)) t=msgArg.text; else if (ts.isTemplateExpression(msgArg)) t=msgArg.getText(sf).slice(1,-1);
     if(t===undefined) console.log('DYNAMIC', f+':'+line, node.expression.getText(sf), msgArg.getText(sf).slice(0,80));
     else if(!pattern(t).test(doc)) {undocumented++; console.log('UNDOC', f+':'+line, node.expression.getText(sf), t.slice(0,140));}
   }
  ts.forEachChild(node,visit);}; visit(sf);}
console.log(n, undocumented);
