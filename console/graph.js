// Query results as a table and a small graph: nodes and relationships found anywhere in the rows (also
// inside paths and lists), laid out by a few hundred steps of a simple force simulation, drawn as SVG.
import { h } from './lib.js';

const isNode = (v) => v && typeof v === 'object' && typeof v.elementId === 'string' && Array.isArray(v.labels);
const isRel = (v) => v && typeof v === 'object' && typeof v.elementId === 'string' && typeof v.startNodeElementId === 'string';

export function collectGraph(values) {
  const nodes = new Map();
  const rels = new Map();
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (isRel(v)) rels.set(v.elementId, v);
    else if (isNode(v)) nodes.set(v.elementId, v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(values);
  // A relationship whose ends were not returned still shows, with placeholder ends.
  for (const r of rels.values()) for (const id of [r.startNodeElementId, r.endNodeElementId]) if (!nodes.has(id)) nodes.set(id, { elementId: id, labels: [], properties: {} });
  return { nodes: [...nodes.values()], rels: [...rels.values()] };
}

export function cellText(v) {
  if (v === null || v === undefined) return 'null';
  if (isRel(v)) return `[:${v.type} ${JSON.stringify(v.properties ?? {})}]`;
  if (isNode(v)) return `(${v.labels.map((l) => `:${l}`).join('')} ${JSON.stringify(v.properties ?? {})})`;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function resultTable(fields, values) {
  return h('div.table-wrap', {},
    h('table', { 'aria-label': 'Query result' },
      h('thead', {}, h('tr', {}, fields.map((f) => h('th', { scope: 'col' }, f)))),
      h('tbody', {}, values.map((row) => h('tr', {}, row.map((c) => h('td.mono', {}, cellText(c))))))));
}

const PALETTE = ['#8fc1ee', '#f6c177', '#a6e3a1', '#f5a3b5', '#c6a0f6', '#94e2d5', '#f9e2af'];

function layout(nodes, rels, width, height) {
  const pos = new Map(nodes.map((n, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, nodes.length);
    return [n.elementId, { x: width / 2 + Math.cos(a) * width / 4, y: height / 2 + Math.sin(a) * height / 4, vx: 0, vy: 0 }];
  }));
  const ps = [...pos.values()];
  for (let step = 0; step < 300; step++) {
    const cooling = 1 - step / 300;
    for (let i = 0; i < ps.length; i++) for (let j = i + 1; j < ps.length; j++) {
      const a = ps[i], b = ps[j];
      let dx = a.x - b.x, dy = a.y - b.y;
      const d2 = Math.max(dx * dx + dy * dy, 25);
      const f = 2000 / d2;
      const d = Math.sqrt(d2);
      dx /= d; dy /= d;
      a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
    }
    for (const r of rels) {
      const a = pos.get(r.startNodeElementId), b = pos.get(r.endNodeElementId);
      if (!a || !b || a === b) continue;
      const dx = b.x - a.x, dy = b.y - a.y;
      const d = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
      const f = (d - 90) * 0.05;
      a.vx += (dx / d) * f; a.vy += (dy / d) * f; b.vx -= (dx / d) * f; b.vy -= (dy / d) * f;
    }
    for (const p of ps) {
      p.vx += (width / 2 - p.x) * 0.01; p.vy += (height / 2 - p.y) * 0.01;
      p.x = Math.min(width - 30, Math.max(30, p.x + p.vx * cooling));
      p.y = Math.min(height - 30, Math.max(30, p.y + p.vy * cooling));
      p.vx *= 0.5; p.vy *= 0.5;
    }
  }
  return pos;
}

export function graphView(values) {
  const { nodes, rels } = collectGraph(values);
  if (nodes.length === 0) return h('p.muted', {}, 'No nodes or relationships in this result to draw.');
  const shown = nodes.slice(0, 300);
  const width = 800, height = 360;
  const pos = layout(shown, rels, width, height);
  const labels = [...new Set(shown.map((n) => n.labels[0] ?? ''))];
  const svg = h('svg.graph', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Graph of ${shown.length} nodes and ${rels.length} relationships` });
  for (const r of rels) {
    const a = pos.get(r.startNodeElementId), b = pos.get(r.endNodeElementId);
    if (!a || !b) continue;
    svg.append(h('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'data-rel': r.type }, h('title', {}, cellText(r))));
    svg.append(h('text', { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 3, 'text-anchor': 'middle' }, r.type));
  }
  for (const n of shown) {
    const p = pos.get(n.elementId);
    const colour = PALETTE[labels.indexOf(n.labels[0] ?? '') % PALETTE.length];
    const caption = n.properties?.name ?? n.properties?.title ?? n.labels[0] ?? '';
    svg.append(h('g', { 'data-node': n.elementId },
      h('circle', { cx: p.x, cy: p.y, r: 18, fill: colour }, h('title', {}, cellText(n))),
      h('text', { x: p.x, y: p.y + 4, 'text-anchor': 'middle' }, String(caption).slice(0, 12))));
  }
  return h('figure', {}, svg, h('figcaption.muted', {}, `${shown.length} nodes, ${rels.length} relationships${nodes.length > shown.length ? ` (first ${shown.length} nodes drawn)` : ''}`));
}
