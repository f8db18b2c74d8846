// The charts of `npm run bench`: each cost curve as data (JSON) and as a line chart drawn by hand
// in SVG (no dependency), written to docs/charts/ by a full run. A chart is
//   { id, title, subtitle, x: { label, unit, scale: "linear" | "log" }, y: { label, unit },
//     series: [{ name, points: [[x, y], ...] }] }
// and is drawn with its axes, ticks, units, points and lines, and a legend.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { top: 86, right: 28, bottom: 62, left: 78 };
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bc4c00"];
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/** Writes each chart as `<id>.json` (its data) and `<id>.svg` into `dir`; returns the file names. */
export function writeCharts(charts, dir) {
  mkdirSync(dir, { recursive: true });
  const files = [];
  for (const chart of charts) {
    writeFileSync(join(dir, `${chart.id}.json`), `${JSON.stringify(chart, null, 2)}\n`);
    writeFileSync(join(dir, `${chart.id}.svg`), lineChart(chart));
    files.push(`${chart.id}.svg`, `${chart.id}.json`);
  }
  return files;
}

/** The SVG of one chart. The y axis starts at 0, so a flat line looks flat and a doubling looks double. */
export function lineChart({ title, subtitle, x, y, series }) {
  const points = series.flatMap((line) => line.points).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  const plot = { left: MARGIN.left, top: MARGIN.top, width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };
  const xs = points.map(([px]) => px);
  const xAxis = x.scale === "log" ? logAxis(Math.min(...xs), Math.max(...xs)) : linearAxis(Math.min(0, ...xs), Math.max(...xs));
  // A little headroom, so that the highest point never sits on the frame.
  const yAxis = linearAxis(0, 1.05 * Math.max(...points.map(([, py]) => py)));
  const toX = (value) => plot.left + xAxis.position(value) * plot.width;
  const toY = (value) => plot.top + plot.height - yAxis.position(value) * plot.height;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(MARGIN.left, 26, title, { size: 16, weight: "600" }),
  ];
  if (subtitle) parts.push(text(MARGIN.left, 46, subtitle, { size: 12, fill: "#57606a" }));
  // Legend, one row under the title.
  let legendX = MARGIN.left;
  series.forEach((line, index) => {
    const color = COLORS[index % COLORS.length];
    parts.push(`<line x1="${legendX}" y1="66" x2="${legendX + 22}" y2="66" stroke="${color}" stroke-width="2.5"/>`);
    parts.push(`<circle cx="${legendX + 11}" cy="66" r="3.5" fill="${color}"/>`);
    parts.push(text(legendX + 28, 70, line.name, { size: 12 }));
    legendX += 40 + line.name.length * 6.6;
  });
  // Grid and ticks.
  for (const tick of yAxis.ticks) {
    const py = round(toY(tick));
    parts.push(`<line x1="${plot.left}" y1="${py}" x2="${plot.left + plot.width}" y2="${py}" stroke="#d0d7de" stroke-width="1"/>`);
    parts.push(text(plot.left - 8, py + 4, formatNumber(tick), { anchor: "end", fill: "#57606a" }));
  }
  for (const tick of xAxis.ticks) {
    const px = round(toX(tick));
    parts.push(`<line x1="${px}" y1="${plot.top + plot.height}" x2="${px}" y2="${plot.top + plot.height + 5}" stroke="#57606a"/>`);
    parts.push(text(px, plot.top + plot.height + 19, formatNumber(tick), { anchor: "middle", fill: "#57606a" }));
  }
  parts.push(`<line x1="${plot.left}" y1="${plot.top + plot.height}" x2="${plot.left + plot.width}" y2="${plot.top + plot.height}" stroke="#24292f"/>`);
  parts.push(`<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.top + plot.height}" stroke="#24292f"/>`);
  // Axis labels, with units.
  parts.push(text(plot.left + plot.width / 2, HEIGHT - 16, axisLabel(x, x.scale === "log" ? "log scale" : null), { anchor: "middle", size: 13 }));
  const yLabelX = 20;
  const yLabelY = plot.top + plot.height / 2;
  parts.push(text(yLabelX, yLabelY, axisLabel(y), { anchor: "middle", size: 13, transform: `rotate(-90 ${yLabelX} ${yLabelY})` }));
  // The series: a line through the points, and the points.
  series.forEach((line, index) => {
    const color = COLORS[index % COLORS.length];
    const drawn = line.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)).map(([px, py]) => [round(toX(px)), round(toY(py))]);
    if (drawn.length > 1) parts.push(`<polyline points="${drawn.map(([px, py]) => `${px},${py}`).join(" ")}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"/>`);
    for (const [px, py] of drawn) parts.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${color}"/>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** An axis from `min` to `max` with round ticks (steps of 1, 2 or 5 times a power of ten). */
function linearAxis(min, max) {
  const span = max > min ? max - min : Math.max(1, Math.abs(max));
  const rough = span / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => span / candidate <= 6) ?? 10 * power;
  const low = Math.floor(min / step) * step;
  const high = Math.max(low + step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let tick = low; tick <= high + step / 1e6; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return { ticks, position: (value) => (value - low) / (high - low) };
}

/**
 * A logarithmic axis from the power of ten at or below `min` to a little past `max` (both above
 * 0), ticked at the powers of ten in between.
 */
function logAxis(min, max) {
  const low = Math.floor(Math.log10(Math.max(min, Number.MIN_VALUE)));
  const high = Math.max(low + 1, Math.log10(max) + 0.05);
  const ticks = [];
  for (let power = low; power <= high; power += 1) ticks.push(10 ** power);
  return { ticks, position: (value) => (Math.log10(value) - low) / (high - low) };
}

function axisLabel({ label, unit }, note = null) {
  const details = [unit, note].filter(Boolean).join(", ");
  return details ? `${label} (${details})` : label;
}

/** 1,500 as "1.5k", 2,000,000 as "2M", 0.25 as "0.25". */
export function formatNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  if (abs >= 100) return String(Math.round(value));
  return trim(value);
}

function trim(value) {
  return String(Number(value.toFixed(2)));
}

function round(value) {
  return Math.round(value * 10) / 10;
}

function text(x, y, content, { size = 12, weight = "400", fill = "#24292f", anchor = "start", transform = null } = {}) {
  const attributes = [`x="${round(x)}"`, `y="${round(y)}"`, `font-size="${size}"`, `fill="${fill}"`, `text-anchor="${anchor}"`];
  if (weight !== "400") attributes.push(`font-weight="${weight}"`);
  if (transform) attributes.push(`transform="${transform}"`);
  return `<text ${attributes.join(" ")}>${escapeXml(content)}</text>`;
}

function escapeXml(value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
