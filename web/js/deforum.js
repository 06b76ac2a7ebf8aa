// Frontend extension of the Deforum pack. Served at /extensions/<pack>/js/deforum.js,
// so the app module sits three folders up.
import { app } from "../../../scripts/app.js";

const EXTENSION_NAME = "deforum.comfy";

function summarizeValues(values) {
  if (!Array.isArray(values) || values.length === 0) return "";
  const min = Math.min(...values);
  const max = Math.max(...values);
  const fmt = (v) => Number(v).toPrecision(4);
  return `${values.length} frames · first ${fmt(values[0])} · last ${fmt(values[values.length - 1])} · min ${fmt(min)} · max ${fmt(max)}`;
}

app.registerExtension({
  name: EXTENSION_NAME,
  async setup() {
    window.__deforumExtensionLoaded = true;
  },
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== "DeforumSchedule") return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      const summary = summarizeValues(message?.values);
      if (summary) {
        this.title = `${nodeData.display_name ?? nodeData.name} (${summary})`;
        this.setDirtyCanvas?.(true, true);
      }
    };
  },
});
