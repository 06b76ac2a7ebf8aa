// Frontend extension of the Deforum pack. Served at /extensions/<pack>/js/deforum.js,
// so the app module sits three folders up.
import { app } from "../../../scripts/app.js";

const EXTENSION_NAME = "deforum.comfy";
const SUMMARY_NODES = new Set(["DeforumSchedule", "DeforumPromptSchedule"]);

function formatNumber(value) {
  return Number(value).toPrecision(4).replace(/\.?0+$/, "");
}

// One line describing what the node computed on its last run.
function summarize(message) {
  const values = message?.values;
  if (Array.isArray(values) && values.length > 0) {
    let min = Infinity;
    let max = -Infinity;
    for (const value of values) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return `${values.length} frames: ${formatNumber(values[0])} → ${formatNumber(values[values.length - 1])} (min ${formatNumber(min)}, max ${formatNumber(max)})`;
  }
  const prompts = message?.prompts;
  if (Array.isArray(prompts) && prompts.length > 0) {
    return `${prompts.length} keyframed prompt${prompts.length === 1 ? "" : "s"}`;
  }
  return "";
}

// Where the summary goes: the free left half of the output rows when the node has more
// output rows than input rows (widgets start below the slot rows), else under the node.
function drawSummary(ctx, node, text) {
  const slotHeight = window.LiteGraph?.NODE_SLOT_HEIGHT ?? 20;
  const inputRows = node.inputs?.length ?? 0;
  const outputRows = node.outputs?.length ?? 0;
  const besideOutputs = inputRows < outputRows;
  const y = besideOutputs ? (inputRows + 0.5) * slotHeight + 4 : node.size[1] + 14;
  const maxWidth = besideOutputs ? node.size[0] - 100 : node.size[0];
  ctx.save();
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#9ab";
  ctx.textAlign = "left";
  let shown = text;
  while (shown.length > 1 && ctx.measureText(shown).width > maxWidth) {
    shown = `${shown.slice(0, -2)}…`;
  }
  ctx.fillText(shown, 10, y);
  ctx.restore();
}

app.registerExtension({
  name: EXTENSION_NAME,
  async setup() {
    window.__deforumExtensionLoaded = true;
  },
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!SUMMARY_NODES.has(nodeData?.name)) return;

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      // Kept on the instance only: the summary is not saved into the workflow.
      this.deforumSummary = summarize(message);
      this.setDirtyCanvas?.(true, false);
    };

    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      onDrawForeground?.apply(this, arguments);
      if (!this.deforumSummary || this.flags?.collapsed) return;
      drawSummary(ctx, this, this.deforumSummary);
    };
  },
});
